"""The dashboard's settings pages in a real browser, on the API server (no chain needed).

An owner creates an API key (its secret shown once, and it works against the API), adds and
deletes a webhook endpoint, invites someone and revokes the invitation, sets a payout address,
and finds each act in the audit log. A viewer sees the same pages without a single form, and a
forged POST is refused (403) with nothing changed.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.models import ApiKey, Invitation, PayoutAddress, WebhookEndpoint
from tests.auth.signin import join, new_wallet, owner_of_new_workspace
from tests.web.checkout_flow import DESKTOP, capture
from tests.web.dashboard_session import signed_in_page
from tests.web.wallet import INIT_SCRIPT, FakeWallet

NETWORK = "base-sepolia"
SETTINGS = ("api_keys", "webhooks", "team", "payouts", "audit")


async def _counts(sessionmaker: async_sessionmaker[AsyncSession], ws: str) -> dict[str, int]:
    async with sessionmaker() as db:
        return {
            model.__name__: int(
                await db.scalar(
                    select(func.count()).select_from(model).where(model.workspace_id == ws)
                )
                or 0
            )
            for model in (ApiKey, Invitation, PayoutAddress, WebhookEndpoint)
        }


async def test_an_owner_manages_keys_webhooks_team_and_payouts_and_audits_them(
    client: httpx.AsyncClient,
    api_server: str,
    browser: Browser,
    screenshots: Path,
) -> None:
    owner, ws = await owner_of_new_workspace(client, "Acme")
    page = await signed_in_page(browser, api_server, owner.wallet, ws)
    base = f"{api_server}/dashboard/{ws}/test"

    # Given no key yet: the empty state, then a new key whose secret is shown this once
    await page.get_by_role("link", name="API keys").click()
    await expect(page.locator("[data-empty]")).to_be_visible()
    await capture(page, screenshots, "api-keys-empty", prefix="dashboard")
    await page.get_by_label("Name").fill("Shop server")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.locator("[data-secret-once]")).to_contain_text("will not be shown again")
    secret = await page.locator("[data-secret]").input_value()
    assert secret.startswith("sk_test_")
    assert secret not in page.url
    await capture(page, screenshots, "api-key-created", prefix="dashboard")
    # And the key works against the API
    products = await client.get("/v1/products", headers={"Authorization": f"Bearer {secret}"})
    assert products.status_code == 200, products.text
    # And reloading the list never shows it again
    await page.goto(f"{base}/api_keys")
    await expect(page.locator("[data-key]")).to_have_count(1)
    assert secret not in await page.content()
    await expect(page.locator("[data-secret]")).to_have_count(0)
    await capture(page, screenshots, "api-keys", prefix="dashboard")

    # When they add a webhook endpoint: a URL the API refuses shows the API's error
    await page.get_by_role("link", name="Webhooks").click()
    await expect(page.locator("[data-empty]")).to_be_visible()
    await capture(page, screenshots, "webhooks-empty", prefix="dashboard")
    await page.get_by_label("URL").fill("ftp://example.com/hooks")
    await page.locator("input[value='invoice.paid']").check()
    async with page.expect_response(lambda r: r.request.method == "POST") as refused:
        await page.get_by_role("button", name="Add endpoint").click()
    assert (await refused.value).status == 400
    await expect(page.locator("[data-error]")).to_be_visible()
    await capture(page, screenshots, "webhook-refused", prefix="dashboard")
    # Then a good one: its signing secret shown once, and it is listed
    await page.goto(f"{base}/webhooks")
    await page.get_by_label("URL").fill("https://example.com/hooks")
    await page.locator("input[value='invoice.paid']").check()
    await page.locator("input[value='subscription.canceled']").check()
    await page.get_by_role("button", name="Add endpoint").click()
    signing = await page.locator("[data-secret]").input_value()
    assert signing.startswith("whsec_")
    await expect(page.locator("[data-endpoint]")).to_contain_text("invoice.paid")
    await capture(page, screenshots, "webhook-created", prefix="dashboard")
    await page.goto(f"{base}/webhooks")
    assert signing not in await page.content()
    # And deleting it empties the list
    await page.get_by_role("button", name="Delete the endpoint https://example.com/hooks").click()
    await expect(page.locator("[data-notice]")).to_contain_text("deleted")
    await expect(page.locator("[data-endpoint]")).to_have_count(0)

    # When they invite a wallet, the token is shown once; then they revoke the invitation
    await page.get_by_role("link", name="Team").click()
    await expect(page.locator("[data-member]")).to_have_count(1)
    await capture(page, screenshots, "team", prefix="dashboard")
    invitee = new_wallet().address
    await page.get_by_label("Wallet address").fill(invitee)
    await page.get_by_label("Role", exact=True).select_option("developer")
    await page.get_by_role("button", name="Invite", exact=True).click()
    link = await page.locator("[data-secret]").input_value()
    assert "/dashboard/invite?token=invite_" in link
    invitation = page.locator("[data-invitation]")
    await expect(invitation).to_contain_text("pending")
    await capture(page, screenshots, "team-invited", prefix="dashboard")
    await page.get_by_role("button", name=f"Revoke the invitation of {invitee}").click()
    await expect(invitation.locator("[data-status]")).to_have_text("revoked")

    # When they set a payout address for a test network
    await page.get_by_role("link", name="Payout addresses").click()
    await expect(page.locator(f"[data-network={NETWORK}] [data-payout]")).to_have_text("not set")
    await capture(page, screenshots, "payouts-empty", prefix="dashboard")
    payee = new_wallet().address
    await page.get_by_label("Network", exact=True).select_option(NETWORK)
    await page.get_by_label("Address", exact=True).fill(payee.lower())
    await page.get_by_role("button", name="Save address").click()
    await expect(page.locator(f"[data-network={NETWORK}] [data-payout]")).to_have_text(payee)
    await capture(page, screenshots, "payouts", prefix="dashboard")

    # Then every act is in the audit log, newest first
    await page.get_by_role("link", name="Audit log").click()
    actions = await page.locator("[data-action]").all_inner_texts()
    for action in (
        "api_key.created",
        "webhook_endpoint.created",
        "webhook_endpoint.deleted",
        "invitation.created",
        "invitation.revoked",
        "payout_address.set",
    ):
        assert action in actions, actions
    # Who: the owner's wallet (shortened, in full in its title), and a key by its name
    mine = page.locator(
        "[data-entry]", has=page.locator("[data-action]", has_text="payout_address.set")
    )
    who = mine.locator("[data-who]")
    await expect(who).to_have_text(f"{owner.wallet.address[:6]}…{owner.wallet.address[-5:]}")
    await expect(who).to_have_attribute("title", owner.wallet.address)
    await expect(page.locator("[data-list=audit]")).not_to_contain_text(owner.account_id)
    made = await client.post(
        "/v1/products",
        json={"name": "Made by a key"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert made.status_code == 200, made.text
    await page.reload()
    # (the test's clock stands still: every entry has the same time, so find it by its action)
    by_key = page.locator(
        "[data-entry]", has=page.locator("[data-action]", has_text="POST /v1/products")
    ).locator("[data-who]")
    await expect(by_key).to_have_text("API key “Shop server”")
    await expect(by_key).to_have_attribute("title", re.compile(r"^test API key key_"))
    await capture(page, screenshots, "audit", prefix="dashboard")


async def test_a_viewer_sees_no_form_and_a_forged_post_changes_nothing(
    client: httpx.AsyncClient,
    api_server: str,
    browser: Browser,
    screenshots: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner, ws = await owner_of_new_workspace(client, "Acme")
    viewer, _ = await join(client, owner, ws, "viewer")
    made = await client.post(
        "/v1/api_keys", json={"name": "shop", "mode": "test"}, headers=owner.headers(ws)
    )
    assert made.status_code == 200, made.text
    key_id = made.json()["id"]
    before = await _counts(sessionmaker, ws)

    page = await signed_in_page(browser, api_server, viewer.wallet, ws)
    base = f"{api_server}/dashboard/{ws}/test"
    for section in SETTINGS:
        await page.goto(f"{base}/{section}")
        await expect(page.locator("h1")).to_be_visible()
        await expect(page.locator("main form")).to_have_count(0)
        await capture(page, screenshots, f"{section}-viewer", prefix="dashboard")
    await page.goto(f"{base}/api_keys")
    await expect(page.locator(f"[data-key={key_id}]")).to_contain_text("shop")

    csrf = await page.locator("input[name=csrf_token]").first.input_value()
    payee = new_wallet().address
    for path, form in (
        ("api_keys", {"name": "mine", "mode": "test"}),
        (f"api_keys/{key_id}/revoke", {}),
        ("webhooks", {"url": "https://example.com/hooks", "events": "*"}),
        ("team/invitations", {"address": new_wallet().address, "role": "viewer"}),
        ("payouts", {"network": NETWORK, "address": payee}),
    ):
        refused = await page.request.post(f"{base}/{path}", form={"csrf_token": csrf, **form})
        assert refused.status == 403, (path, refused.status)
    assert await _counts(sessionmaker, ws) == before
    async with sessionmaker() as db:
        key = await db.get_one(ApiKey, key_id)
        assert key.revoked_at is None


async def test_an_invited_wallet_signs_in_from_the_link_and_joins(
    client: httpx.AsyncClient,
    api_server: str,
    browser: Browser,
    screenshots: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner, ws = await owner_of_new_workspace(client, "Acme")
    page = await signed_in_page(browser, api_server, owner.wallet, ws)
    await page.get_by_role("link", name="Team").click()
    invitee = new_wallet()
    await page.get_by_label("Wallet address").fill(invitee.address)
    await page.get_by_label("Role", exact=True).select_option("developer")
    await page.get_by_role("button", name="Invite", exact=True).click()
    link = urlsplit(await page.locator("[data-secret]").input_value())

    # The invitee opens the link signed out: the sign-in, then back to the invitation
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    await context.expose_binding("__wallet", FakeWallet(invitee))
    await context.add_init_script(INIT_SCRIPT)
    joining = await context.new_page()
    await joining.goto(f"{api_server}{link.path}?{link.query}")
    await expect(joining.get_by_role("heading", name="Sign in to your dashboard")).to_be_visible()
    await joining.get_by_role("button", name="Connect Test Wallet").click()
    accept = joining.get_by_role("button", name="Accept the invitation")
    await expect(accept).to_be_visible()
    await capture(joining, screenshots, "invitation", prefix="dashboard")
    await accept.click()
    await joining.wait_for_url(f"**/dashboard/{ws}/test")
    async with sessionmaker() as db:
        [invitation] = (
            await db.scalars(select(Invitation).where(Invitation.workspace_id == ws))
        ).all()
        assert invitation.accepted_at is not None
    members = await client.get("/v1/members", headers=owner.headers(ws))
    roles = sorted(m["role"] for m in members.json()["data"])
    assert roles == ["developer", "owner"]

    # And the link, used again, says so and changes nothing
    await joining.goto(f"{api_server}{link.path}?{link.query}")
    await joining.get_by_role("button", name="Accept the invitation").click()
    await expect(joining.locator("[data-error]")).to_contain_text("already accepted")
    await context.close()
