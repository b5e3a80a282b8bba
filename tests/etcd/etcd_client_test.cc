// The etcd client against a real three-member etcd cluster on loopback:
// reads and writes, transactions, leases, watches across a lost member,
// leader election with fencing, and the loss and return of quorum.
#include "etcd/client.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "etcd/election.h"
#include "etcd/watch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/etcd_cluster.h"
#include "tests/rpc/test_pki.h"
#include "tests/test_util.h"

namespace chaos::etcd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using chaos::testing::WaitFor;

// Polls `condition` every 50 ms for at most `seconds` (a hang guard, not a
// bound the test checks).
ClientOptions Options(std::vector<std::string> endpoints) {
  ClientOptions options;
  options.endpoints = std::move(endpoints);
  options.timeout = absl::Seconds(5);
  return options;
}

class EtcdClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> Connect(std::vector<std::string> endpoints) {
    auto client = Client::Connect(Options(std::move(endpoints)));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  testing::EtcdCluster cluster_;
};

TEST_F(EtcdClientTest, WritesAreReadBackByKeyAndByPrefixInKeyOrder) {
  auto client = Connect(cluster_.endpoints());
  ASSERT_NE(client, nullptr);
  auto r1 = client->Put("/t/b", "2");
  ASSERT_TRUE(r1.ok()) << r1.status();
  auto r2 = client->Put("/t/a", "1");
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_GT(*r2, *r1);
  ASSERT_TRUE(client->Put("/u/x", "other").ok());

  auto got = client->Get("/t/a");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "1");
  EXPECT_EQ((*got)->create_revision, *r2);

  auto range = client->GetPrefix("/t/");
  ASSERT_TRUE(range.ok()) << range.status();
  std::vector<std::string> keys;
  for (const KeyValue& kv : range->kvs) keys.push_back(kv.key);
  EXPECT_THAT(keys, ElementsAre("/t/a", "/t/b"));
  EXPECT_GE(range->revision, *r2);

  auto deleted = client->DeletePrefix("/t/");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 2);
  auto gone = client->Get("/t/a");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(EtcdClientTest, ATransactionAppliesOnlyWhenItsCompareHolds) {
  auto client = Connect(cluster_.endpoints());
  ASSERT_NE(client, nullptr);
  auto rev = client->Put("/cas", "v1");
  ASSERT_TRUE(rev.ok());

  auto cas = [&](int64_t expected_mod, const std::string& value) {
    etcdserverpb::TxnRequest txn;
    etcdserverpb::Compare* c = txn.add_compare();
    c->set_key("/cas");
    c->set_target(etcdserverpb::Compare::MOD);
    c->set_result(etcdserverpb::Compare::EQUAL);
    c->set_mod_revision(expected_mod);
    etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
    put->set_key("/cas");
    put->set_value(value);
    return client->Txn(txn);
  };
  auto first = cas(*rev, "v2");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->succeeded());
  auto stale = cas(*rev, "v3");  // the revision it read is no longer the key's
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->succeeded());
  EXPECT_EQ((*client->Get("/cas"))->value, "v2");
}

TEST_F(EtcdClientTest, AKeyOnALeaseLivesWhileRenewedAndGoesWhenTheLeaseEnds) {
  auto client = Connect(cluster_.endpoints());
  ASSERT_NE(client, nullptr);
  auto kept = client->GrantLease(absl::Seconds(2));
  auto dropped = client->GrantLease(absl::Seconds(1));
  ASSERT_TRUE(kept.ok() && dropped.ok());
  ASSERT_TRUE(client->Put("/lease/kept", "x", *kept).ok());
  ASSERT_TRUE(client->Put("/lease/dropped", "x", *dropped).ok());

  // Renew one lease for a while; the other lapses meanwhile.
  EXPECT_TRUE(WaitFor([&] {
    EXPECT_TRUE(client->KeepAliveOnce(*kept).ok());
    return !(*client->Get("/lease/dropped")).has_value();
  }, absl::Seconds(30)));
  EXPECT_TRUE((*client->Get("/lease/kept")).has_value());
  EXPECT_TRUE(absl::IsNotFound(client->KeepAliveOnce(*dropped).status()));

  ASSERT_TRUE(client->RevokeLease(*kept).ok());
  EXPECT_FALSE((*client->Get("/lease/kept")).has_value());
  EXPECT_TRUE(client->RevokeLease(*kept).ok()) << "revoking twice is not an error";
}

TEST_F(EtcdClientTest, AWatchDeliversEveryChangeInOrderAlsoWhenItsMemberIsLost) {
  // The watcher talks to member 0 first; the writer only to members 1 and 2.
  auto watcher = Connect(cluster_.endpoints());
  auto writer = Connect({cluster_.endpoint(1), cluster_.endpoint(2)});
  ASSERT_NE(watcher, nullptr);
  ASSERT_NE(writer, nullptr);
  auto start = writer->Put("/w/0", "0");
  ASSERT_TRUE(start.ok());

  absl::Mutex mu;
  std::vector<std::string> seen;
  Cancellation cancel;
  absl::Status result;
  std::thread thread([&] {
    result = WatchPrefix(watcher.get(), "/w/", *start, &cancel,
                         [&](const std::vector<Change>& changes) {
                           absl::MutexLock lock(&mu);
                           for (const Change& c : changes) {
                             seen.push_back((c.deleted ? "-" : "+") + c.kv.key);
                           }
                         });
  });
  absl::Cleanup stop = [&] {
    cancel.Cancel();
    thread.join();
  };
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return seen.size();
  };
  ASSERT_TRUE(writer->Put("/w/1", "1").ok());
  ASSERT_TRUE(WaitFor([&] { return count() == 2; }, absl::Seconds(30)));

  // Member 0 may have been raft's leader: writes fail (UNAVAILABLE) until
  // the other two have elected one, so each is retried until it is applied.
  cluster_.Kill(0);
  // A retry must not write twice (a failed write may have been applied):
  // the put creates only an absent key, the delete is done once it is gone.
  auto create = [&](const std::string& key) {
    etcdserverpb::TxnRequest txn;
    etcdserverpb::Compare* absent = txn.add_compare();
    absent->set_key(key);
    absent->set_target(etcdserverpb::Compare::VERSION);
    absent->set_version(0);
    txn.add_success()->mutable_request_put()->set_key(key);
    return writer->Txn(txn).ok() && (*writer->Get(key)).has_value();
  };
  auto remove = [&](const std::string& key) {
    if (!writer->Delete(key).ok()) return false;
    auto got = writer->Get(key);
    return got.ok() && !got->has_value();
  };
  EXPECT_TRUE(WaitFor([&] { return create("/w/2"); }, absl::Seconds(30)));
  EXPECT_TRUE(WaitFor([&] { return remove("/w/1"); }, absl::Seconds(30)));
  EXPECT_TRUE(WaitFor([&] { return create("/elsewhere"); }, absl::Seconds(30)));
  EXPECT_TRUE(WaitFor([&] { return count() >= 4; }, absl::Seconds(30)));

  std::move(stop).Invoke();
  EXPECT_TRUE(absl::IsCancelled(result)) << result;
  absl::MutexLock lock(&mu);
  EXPECT_THAT(seen, ElementsAre("+/w/0", "+/w/1", "+/w/2", "-/w/1"));
}

// A watch that needs revisions etcd compacted away is OUT_OF_RANGE, naming
// the revision it needed and the oldest one kept, and delivers nothing.
TEST_F(EtcdClientTest, AWatchFromACompactedRevisionIsOutOfRangeNamingTheOldestKept) {
  auto client = Connect(cluster_.endpoints());
  ASSERT_NE(client, nullptr);
  auto first = client->Put("/c/1", "1");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(client->Put("/c/2", "2").ok());
  auto last = client->Put("/c/3", "3");
  ASSERT_TRUE(last.ok()) << last.status();
  cluster_.Compact(1, *last);

  int delivered = 0;
  Cancellation cancel;
  absl::Status s = WatchPrefix(client.get(), "/c/", *first, &cancel,
                               [&](const std::vector<Change>& changes) {
                                 delivered += static_cast<int>(changes.size());
                               });
  EXPECT_TRUE(absl::IsOutOfRange(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("revision ", *first, " is compacted (oldest "
                                                  "kept: ", *last, ")")));
  EXPECT_EQ(delivered, 0);
}

TEST_F(EtcdClientTest, OneCandidateLeadsAndTheNextLeadsOnlyOnceItResigns) {
  auto client = Connect(cluster_.endpoints());
  ASSERT_NE(client, nullptr);
  auto lease_a = client->GrantLease(absl::Seconds(10));
  auto lease_b = client->GrantLease(absl::Seconds(10));
  ASSERT_TRUE(lease_a.ok() && lease_b.ok());
  Election a(client.get(), "/election/test");
  Election b(client.get(), "/election/test");

  auto key_a = a.Campaign(*lease_a, "controller-a");
  ASSERT_TRUE(key_a.ok()) << key_a.status();
  std::atomic<bool> b_leads{false};
  absl::StatusOr<LeaderKey> key_b;
  std::thread campaign([&] {
    key_b = b.Campaign(*lease_b, "controller-b");
    b_leads = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(b_leads) << "b leads while a has not resigned";
  auto leader = a.Leader();
  ASSERT_TRUE(leader.ok()) << leader.status();
  EXPECT_EQ(leader->value, "controller-a");

  ASSERT_TRUE(a.Resign(*key_a).ok());
  campaign.join();
  ASSERT_TRUE(key_b.ok()) << key_b.status();
  EXPECT_EQ(a.Leader()->value, "controller-b");
}

// A leader that lost its lease (a paused process) cannot write with its
// old key: the fencing compare fails, and its write is not applied.
TEST_F(EtcdClientTest, ADeposedLeadersGuardedWriteIsRefused) {
  auto client = Connect(cluster_.endpoints());
  ASSERT_NE(client, nullptr);
  auto lease_old = client->GrantLease(absl::Seconds(1));
  auto lease_new = client->GrantLease(absl::Seconds(10));
  ASSERT_TRUE(lease_old.ok() && lease_new.ok());
  Election old_leader(client.get(), "/election/fence");
  Election new_leader(client.get(), "/election/fence");
  auto old_key = old_leader.Campaign(*lease_old, "old");
  ASSERT_TRUE(old_key.ok()) << old_key.status();

  auto guarded_put = [&](const LeaderKey& key, const std::string& value) {
    etcdserverpb::TxnRequest txn;
    *txn.add_compare() = LeaderCompare(key);
    etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
    put->set_key("/fenced/state");
    put->set_value(value);
    return client->Txn(txn);
  };
  auto while_leading = guarded_put(*old_key, "written by old");
  ASSERT_TRUE(while_leading.ok());
  EXPECT_TRUE(while_leading->succeeded());

  // The old leader stops renewing; the new one takes over when it lapses.
  auto new_key = new_leader.Campaign(*lease_new, "new");
  ASSERT_TRUE(new_key.ok()) << new_key.status();
  auto stale = guarded_put(*old_key, "written by old after it lost");
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->succeeded());
  auto fresh = guarded_put(*new_key, "written by new");
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(fresh->succeeded());
  EXPECT_EQ((*client->Get("/fenced/state"))->value, "written by new");
}

TEST_F(EtcdClientTest, WritesGoOnWithOneMemberLostFailUnavailableWithoutQuorumAndComeBack) {
  auto client = Connect(cluster_.endpoints());
  ASSERT_NE(client, nullptr);
  // Member 0 may have been raft's leader: until the other two elect one, a
  // write is UNAVAILABLE; then writes go on.
  cluster_.Kill(0);
  EXPECT_TRUE(
      WaitFor([&] { return client->Put("/q", "two members").ok(); }, absl::Seconds(30)));

  cluster_.Kill(1);
  auto with_one = client->Put("/q", "one member");
  EXPECT_TRUE(absl::IsUnavailable(with_one.status())) << with_one.status();

  cluster_.Start(0);
  cluster_.Start(1);
  EXPECT_TRUE(WaitFor([&] { return client->Put("/q", "back").ok(); }, absl::Seconds(60)));
  EXPECT_EQ((*client->Get("/q"))->value, "back");
}

TEST(EtcdClientBadInputTest, AnUnreachableEtcdIsUnavailableNamingTheEndpoint) {
  const std::string nobody = "127.0.0.1:" + std::to_string(testing::FreeLoopbackPort());
  auto client = Client::Connect(Options({nobody}));
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(absl::IsUnavailable(client.status())) << client.status();
  EXPECT_THAT(client.status().message(), HasSubstr(nobody));
}

TEST(EtcdClientBadInputTest, AnEndpointWithoutAPortIsRefusedNamingIt) {
  auto client = Client::Connect(Options({"etcd-0"}));
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(client.status())) << client.status();
  EXPECT_THAT(client.status().message(), HasSubstr("\"etcd-0\""));
  EXPECT_TRUE(absl::IsInvalidArgument(Client::Connect(Options({})).status()));
}

// etcd with client-certificate authentication: the controller's
// certificate from the same CA is let in; material from another CA is a
// one-line UNAVAILABLE naming the member, not a hang.
TEST(EtcdClientTlsTest, TheRightCertificateIsLetInAndAnotherCasIsRefused) {
  testing::TempDir dir;
  testing::TestPki pki(dir.path() + "/pki", {"etcd"});
  testing::TestPki other(dir.path() + "/other");
  testing::EtcdCluster cluster(1, pki.Agent("etcd"));

  auto transport = rpc::TransportOptions::MutualTls(pki.Controller(), absl::Seconds(10));
  ASSERT_TRUE(transport.ok()) << transport.status();
  ClientOptions options = Options(cluster.endpoints());
  options.transport = *transport;
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE((*client)->Put("/tls", "yes").ok());

  auto foreign = rpc::TransportOptions::MutualTls(other.Controller(), absl::Seconds(10));
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  options.transport = *foreign;
  auto refused = Client::Connect(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr(cluster.endpoint(0)));

  options.transport = rpc::TransportOptions();  // plaintext to a TLS etcd
  auto plaintext = Client::Connect(options);
  ASSERT_FALSE(plaintext.ok());
  EXPECT_TRUE(absl::IsUnavailable(plaintext.status())) << plaintext.status();
}

}  // namespace
}  // namespace chaos::etcd
