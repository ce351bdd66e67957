"""End to end through the gateway's public port: an org calls the models with a user token and
with an API key limited to `ml:predict`, and its analytics count the inputs it was served
(ml-inference's usage outbox → analytics-events → analytics), so billing's metric has what it
charges; a key without the scope is refused by the service."""
import datetime as dt
import secrets

from e2ekit import Client, iso
from platform_client import eventually, new_password


def test_predictions_through_the_gateway_are_metered_in_the_orgs_analytics(stack, contracts):
    owner = Client(stack, contracts, "203.0.113.93")
    r = owner.call("POST", "/v1/auth/signup", expect=201, json_body={
        "org_name": "Inferring", "email": f"e2e-ml-{secrets.token_hex(5)}@example.com",
        "password": new_password(), "name": "Olive Owner"})
    token = r.json()["access_token"]
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    models = owner.call("GET", "/v1/ml/models", token=token, expect=200).json()["data"]
    assert len(models) == 5
    for text in ("I love this", "I hate this", "It is a chair"):
        owner.call("POST", "/v1/ml/models/sentiment-v3/predict", token=token, expect=200,
                   json_body={"input": text}, patient=True)
    out = owner.call("POST", "/v1/ml/models/embeddings-v2/predict:batch", token=token,
                     expect=200, json_body={"inputs": ["a cat", "a dog", "a car", "a tree"]})
    assert len(out.json()["outputs"]) == 4

    key = owner.call("POST", "/v1/auth/api-keys", token=token, expect=201, json_body={
        "name": "ml automation", "scopes": ["ml:predict"]}).json()["key"]
    owner.call("POST", "/v1/ml/models/sentiment-v3/predict", api_key=key, expect=200,
               json_body={"input": "Great!"})
    owner.call("GET", "/v1/ml/models", api_key=key, expect=403)  # ml:read is not its scope

    query = {"from": iso(start), "to": iso(start + dt.timedelta(hours=1)),
             "events": ["ml.usage"], "breakdown": ["model"],
             "metrics": [{"op": "count"}, {"op": "sum", "property": "quantity"}]}

    def usage():
        r = owner.call("POST", "/v1/analytics/query", token=token, json_body=query, expect=200)
        return {row["breakdown"]["model"]: (row["count"], row["sum_quantity"])
                for row in r.json()["data"]}
    eventually(lambda: sum(c for c, _ in usage().values()) >= 5, timeout=60,
               what="5 ml.usage events in the org's analytics")
    assert usage() == {"sentiment-v3": (4, 4), "embeddings-v2": (1, 4)}
