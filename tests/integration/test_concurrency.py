"""Sends and verifies of one contact in parallel (sql/008's lock order): no
deadlock, so never a 500, whatever interleaving."""
import concurrent.futures

from stack import NO_LIMITS, create_account, send, verify


def test_parallel_sends_and_verifies_of_one_contact_never_deadlock():
    account = create_account(limits=NO_LIMITS)
    contact = account.add_contact()
    send(account.key, contact.email)

    def one(i):
        if i % 2:
            return send(account.key, contact.email).status
        return verify(account.key, contact.email, "000000").status

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one, range(400)))
    assert set(statuses) <= {200, 400}, sorted(set(statuses))
