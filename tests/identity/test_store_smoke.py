from tests.helpers import assert_invariants, partition


def test_anonymous_then_identified_visitor_is_one_profile(client, driver):
    from tests.helpers import basic
    h = basic()
    assert client.post("/v1/page", json={"anonymousId": "anon-1", "name": "Home"}, headers=h).status_code == 200
    assert client.post("/v1/identify", json={"anonymousId": "anon-1", "userId": "u-1",
                                             "traits": {"email": "Ann@Example.org"}}, headers=h).status_code == 200
    assert partition(driver) == {frozenset({"anonymous_id:anon-1", "user_id:u-1", "email:ann@example.org"})}
    assert_invariants(driver)
