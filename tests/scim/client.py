"""Drives mintgate's SCIM endpoints with scim2-client, an independent implementation of RFC 7643
and RFC 7644 (its models validate every response): discovery, then creating, querying with
filters, patching, replacing and deleting a user and a group.

Usage: client.py BASE_URL TOKEN. Prints OK and exits 0 when every step behaved.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import ListResponse, PatchOp, PatchOperation, SearchRequest
from scim2_models import SCIMException


def main(base_url: str, token: str) -> None:
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
    scim = SyncSCIMClient(http)
    scim.discover()
    UserModel = scim.get_resource_model("User")
    GroupModel = scim.get_resource_model("Group")
    assert UserModel is not None and GroupModel is not None

    # Create.
    # The models built from the server's own Schemas document.
    user = UserModel.model_validate({
        "userName": "grace@client.example",
        "name": {"givenName": "Grace", "familyName": "Hopper"},
        "displayName": "Grace Hopper",
        "emails": [{"value": "grace@client.example", "type": "work", "primary": True}],
        "active": True,
    })
    created = scim.create(user)
    assert created.id, created
    assert created.user_name == "grace@client.example"
    assert created.meta.version == 'W/"1"', created.meta.version

    # Duplicate userName: a SCIM error with scimType uniqueness.
    try:
        scim.create(UserModel.model_validate({"userName": "GRACE@client.example", "emails": [{"value": "g2@client.example"}]}))
        raise AssertionError("a duplicate userName was accepted")
    except SCIMException as exc:
        error = exc.to_error()
        assert error.status == 409 and error.scim_type == "uniqueness", error

    # Query by id and by filter.
    fetched = scim.query(UserModel, created.id)
    assert fetched.display_name == "Grace Hopper"
    found = scim.query(UserModel, query_parameters=SearchRequest(filter='userName eq "Grace@Client.Example"'))
    assert isinstance(found, ListResponse) and found.total_results == 1, found
    assert found.resources[0].id == created.id
    none = scim.query(UserModel, query_parameters=SearchRequest(filter='name.familyName eq "Lovelace"'))
    assert none.total_results == 0

    # PATCH.
    patch = PatchOp[UserModel](operations=[
        PatchOperation(op="replace", path="displayName", value="Rear Admiral Hopper"),
        PatchOperation(op="replace", path="active", value=False),
    ])
    patched = scim.modify(UserModel, created.id, patch)
    assert patched.display_name == "Rear Admiral Hopper", patched
    assert patched.active is False

    # PUT.
    patched.title = "Admiral"
    patched.active = True
    replaced = scim.replace(patched)
    assert replaced.title == "Admiral" and replaced.active is True, replaced

    # A group with the user, then without.
    group = scim.create(GroupModel.model_validate({"displayName": "Navy", "members": [{"value": created.id}]}))
    assert group.id and len(group.members) == 1 and group.members[0].value == created.id, group
    groups = scim.query(GroupModel, query_parameters=SearchRequest(filter='displayName eq "navy"'))
    assert groups.total_results == 1
    removed = scim.modify(GroupModel, group.id, PatchOp[GroupModel](operations=[
        PatchOperation(op="remove", path=f'members[value eq "{created.id}"]'),
    ]))
    assert not removed.members, removed
    scim.delete(GroupModel, group.id)

    # Delete: gone afterwards.
    scim.delete(UserModel, created.id)
    try:
        scim.query(UserModel, created.id)
        raise AssertionError("a deleted user was found")
    except SCIMException as exc:
        assert exc.to_error().status == 404
    print("OK")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
