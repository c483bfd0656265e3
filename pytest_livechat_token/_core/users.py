"""One LiveChat user per account name: a login refuses a token of a user that another name of
the client already stands for (cached, or obtained in this run), so that a test of two users
cannot pass for the wrong reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._base.errors import LiveChatTokenError, PasteRejected, printable

if TYPE_CHECKING:
    from .._base.bearer import BearerToken
    from .run import Run


def vet(run: Run, account: str, token: BearerToken) -> None:
    """Refuse a token of a user that another account name already stands for: two names
    for one user would make a test of two users pass for the wrong reason. A user that the
    accounts server has not named (it could not be asked at that login) is asked for now;
    while either side stays unknown, another name is refused rather than risked."""
    others = {name: user for name, user in run.users().items() if name != account}
    if not others:
        return
    others.update(_learn_users(run, [name for name, user in others.items() if user is None]))
    unknown = [name for name, user in others.items() if user is None]
    if token.account_id is None or unknown:
        names = ", ".join(repr(name) for name in unknown or others)
        raise PasteRejected(
            "The LiveChat accounts server could not say which user "
            f"{'this is' if token.account_id is None else f'{names} stand(s) for'}, so it "
            f"cannot be told apart from {names}: each name must be another user. Try again "
            "when the accounts server can be reached."
        )
    for name, account_id in others.items():
        if account_id == token.account_id:
            raise PasteRejected(
                f"That is the LiveChat user cached as {name!r} (account "
                f"{printable(account_id, 40)}), not another one for {account!r}. Log "
                "in as a different user: a private window, or log out of LiveChat first."
            )


def _learn_users(run: Run, names: list[str]) -> dict[str, str | None]:
    """The user of each of ``names`` whose token (cached, or obtained in this run) the
    accounts server can still name (``/v2/info``); None where it cannot."""
    from .._auth.oauth import token_info  # a login has imported it already

    entries = run.client_entries()
    learned: dict[str, str | None] = {}
    for name in names:
        token = run.obtained.get(name) or (entries[name].access_token if name in entries else None)
        try:
            learned[name] = (
                token_info(run.settings.accounts_url, token).account_id if token else None
            )
        except LiveChatTokenError:
            learned[name] = None
    return learned
