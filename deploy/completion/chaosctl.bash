# bash completion for chaosctl. The candidates come from chaosctl itself
# (`chaosctl __complete WORD...`, controller/cli/completion.h), so they
# always match the installed binary: subcommands, flags, --output values,
# file names where a file goes, and run ids from the controller that
# --controller names on the line.
# Install: copy to /usr/share/bash-completion/completions/chaosctl, or
# source it from ~/.bashrc.

_chaosctl() {
  # Words from the line itself up to the cursor: COMP_WORDS would split
  # HOST:PORT at the colon.
  local line=${COMP_LINE:0:COMP_POINT} candidate files=0
  local -a words
  read -ra words <<<"$line"
  [[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=("")
  local cur=${words[-1]}
  COMPREPLY=()
  while IFS= read -r candidate; do
    if [[ $candidate == ':files' ]]; then
      files=1
    elif [[ -n $candidate ]]; then
      COMPREPLY+=("$candidate")
    fi
  done < <("${words[0]}" __complete "${words[@]:1}" 2>/dev/null)
  if ((files)); then
    compopt -o filenames 2>/dev/null
    local IFS=$'\n'
    COMPREPLY+=($(compgen -f -- "$cur"))
  fi
  # bash replaces only the part of the word after the last colon.
  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local i
    for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"${cur%:*}:"}; done
  fi
}
complete -F _chaosctl chaosctl
