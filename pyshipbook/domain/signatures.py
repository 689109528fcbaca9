"""Signing outbound slips (出库单签字): the rules as pure functions.

Two roles sign every slip: finance (财务总监) and logistics (物流总监). Nothing
ships before both have signed the slip's current content.

* The signer must be the person 设置 names for the role (signer_finance /
  signer_logistics) when one is named (several may be named, separated by
  "," "，" "、" or ";"); blank: anyone may sign that role. Names compare
  without spaces, case-insensitively, full-width folded.
* One person cannot sign both roles of a slip.
* Signing again (same slip, role, person, the current fingerprint, still
  valid) is a no-op; another person signing a role already validly signed is
  refused.
* A slip whose current content fingerprint (recomputed from the order lines by
  the caller, slips.fingerprint) differs from the fingerprint recorded on the
  slip cannot be signed until it is re-issued.
* When a signed slip's content changed, its valid signatures become void
  (签字记录 有效 -> 失效), its signer columns are cleared and its state goes
  back to 待签字 (`void_changed`); slips that had both signatures are listed
  so their 待发货 lines wait again.
* The lines of a slip with both valid signatures become 待发货
  (`SignDecision.both_signed`, `ready_slips`).

The fingerprint is an argument everywhere: this module does not compute it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from . import normalize as nz
from .cells import text as _text
from .codes import Code, Problem, register
from .lifecycle import SIGNATURE_VALID as VALID
from .lifecycle import SIGNATURE_VOID as VOID  # noqa: F401 (ops/sign.py writes sg.VOID)
from .lifecycle import SLIP_AWAIT_SIGNATURE, SLIP_SIGNED, VOID_SLIP_WORDS


ROLES = ("finance", "logistics")
ROLE_LABEL = {"finance": "财务总监", "logistics": "物流总监"}
ROLE_SETTING = {"finance": "signer_finance", "logistics": "signer_logistics"}
_ROLE_ALIASES = {"finance": "finance", "财务总监": "finance", "财务": "finance",
                 "logistics": "logistics", "物流总监": "logistics", "物流": "logistics"}
_TRUE = frozenset({VALID, "是", "y", "yes", "true", "1", "✓", "√"})

# -- codes (beside their rules; catalogue.all_codes() and docs/WORKBOOK.md list them) ------------------
CODES: dict[str, Code] = register(
    Code("sign.unknown_slip", "error", "出库单不存在", "no such outbound slip", "slip_no"),
    Code("sign.bad_role", "error", "签字角色只能是 财务总监 或 物流总监",
         "the role must be finance (财务总监) or logistics (物流总监)", "slip_no"),
    Code("sign.signer_missing", "error", "缺少签字人姓名", "no signer name", "slip_no"),
    Code("sign.wrong_person", "error", "签字人不是设置中为该角色指定的人",
         "the signer is not the person 设置 names for this role", "slip_no"),
    Code("sign.same_person_both_roles", "error", "同一人不能同时以财务总监和物流总监签同一张出库单",
         "one person cannot sign a slip both as finance and as logistics", "slip_no"),
    Code("sign.already_signed", "error", "该角色已由他人签字", "another person already signed this role", "slip_no"),
    Code("sign.content_changed", "error", "出库单开出后订单内容已修改, 须重新开单后才能签字",
         "the slip's content changed since it was issued; re-issue it before signing", "slip_no"),
    Code("sign.slip_void", "error", "出库单已作废, 不能签字", "the slip is void and cannot be signed", "slip_no"),
)

Outcome = Literal["accepted", "noop", "refused"]


@dataclass(frozen=True)
class SignDecision:
    outcome: Outcome
    slip_no: str | None
    role: str | None                       # finance | logistics
    signer: str | None
    code: str | None = None
    detail: str = ""
    signature: dict | None = None          # the new 签字记录 row (accepted only)
    slip_update: dict = field(default_factory=dict)   # 出库单 columns to set (accepted only)
    both_signed: bool = False              # both roles now hold valid signatures: the slip's lines -> 待发货

    @property
    def problem(self) -> Problem | None:
        """Why it was refused (the detail follows each language: 签字's messages read so)."""
        return Problem(self.code, detail=self.detail, inline=True) if self.code else None

    @property
    def zh(self) -> str:
        if self.code:
            return self.problem.zh
        return {"accepted": "已签字", "noop": "已签过字, 未改动", "refused": ""}[self.outcome]

    @property
    def en(self) -> str:
        if self.code:
            return self.problem.en
        return {"accepted": "signed", "noop": "already signed; nothing changed", "refused": ""}[self.outcome]

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "slip_no": self.slip_no, "role": self.role, "signer": self.signer,
                "code": self.code, "zh": self.zh, "en": self.en, "both_signed": self.both_signed}


# -- reading --------------------------------------------------------------------------------------------
def person_key(name: object) -> str:
    """How names compare: half-width, no spaces, case folded."""
    t = _text(name)
    return re.sub(r"\s+", "", t).casefold() if t else ""


def role_of(text: object) -> str | None:
    """finance / logistics for 'finance', '财务总监', '财务', 'logistics', '物流总监', '物流'; else None."""
    t = _text(text)
    return _ROLE_ALIASES.get(t.casefold() if t else "") if t else None


def _fp(v: object) -> str:
    t = _text(v)
    return t.casefold() if t else ""


def is_valid(v: object) -> bool:
    """A 签字记录 有效 cell: 有效 / 是 / yes / true / 1 / True are valid; 失效, blank, anything else not."""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and not nz._is_missing(v):
        return v == 1
    t = _text(v)
    return bool(t) and t.casefold() in _TRUE


def is_void_slip(slip: Mapping) -> bool:
    state = (_text(slip.get("state")) or "").casefold()
    return any(w in state for w in VOID_SLIP_WORDS)


def _records(signatures) -> pd.DataFrame:
    if isinstance(signatures, pd.DataFrame):
        return signatures
    return pd.DataFrame(list(signatures or []))


def _get(frame: pd.DataFrame, key: str) -> list:
    return frame[key].astype(object).tolist() if key in frame.columns else [None] * len(frame)


def valid_signatures(signatures, slip_no: str, fingerprint: str) -> dict[str, str]:
    """role -> signer of the valid signatures of this slip on this fingerprint (the latest row wins)."""
    frame = _records(signatures)
    out: dict[str, str] = {}
    want, fp = _text(slip_no), _fp(fingerprint)
    for s, role, signer, sig_fp, valid in zip(_get(frame, "slip_no"), _get(frame, "role"), _get(frame, "signer"),
                                              _get(frame, "fingerprint"), _get(frame, "valid")):
        r = role_of(role)
        if _text(s) == want and r and is_valid(valid) and fp and _fp(sig_fp) == fp and _text(signer):
            out[r] = _text(signer)
    return out


def _allowed(settings: Mapping, role: str) -> set[str]:
    named = _text(settings.get(ROLE_SETTING[role])) or ""
    return {person_key(p) for p in re.split(r"[,，、;；]", named) if person_key(p)}


# -- deciding one signature --------------------------------------------------------------------------
def decide_signature(slip: Mapping | None, signatures, role: object, signer: object, settings: Mapping,
                     current_fingerprint: str, now: dt.datetime) -> SignDecision:
    """May `signer` sign `slip` as `role` now? Accepted (with the 签字记录 row and the 出库单 update),
    noop (already signed so) or refused (code + zh/en reason).

    slip: the 出库单 row by key (slip_no, fingerprint, state, …) or None when there is no such slip.
    signatures: 签字记录 (frame or mappings: slip_no, role, signer, signed_at, fingerprint, valid).
    current_fingerprint: the slip's content fingerprint recomputed from the order lines now.
    """
    slip_no = _text(slip.get("slip_no")) if slip else None
    r = role_of(role)
    name = _text(signer)

    def refuse(code: str, detail: str = "") -> SignDecision:
        return SignDecision("refused", slip_no, r, name, code, detail)

    if not slip or not slip_no:
        return refuse("sign.unknown_slip", _text(slip.get("slip_no")) if slip else "")
    if r is None:
        return refuse("sign.bad_role", _text(role) or "")
    if not name:
        return refuse("sign.signer_missing")
    if is_void_slip(slip):
        return refuse("sign.slip_void", _text(slip.get("state")) or "")
    recorded = _fp(slip.get("fingerprint"))
    current = _fp(current_fingerprint)
    if not recorded or not current or recorded != current:
        return refuse("sign.content_changed", f"{recorded[:16] or '-'} → {current[:16] or '-'}")
    signed = valid_signatures(signatures, slip_no, current)
    other = "logistics" if r == "finance" else "finance"
    if r in signed and person_key(signed[r]) == person_key(name):
        return SignDecision("noop", slip_no, r, name, both_signed=other in signed)
    allowed = _allowed(settings, r)
    if allowed and person_key(name) not in allowed:
        return refuse("sign.wrong_person", f"{ROLE_LABEL[r]}: {_text(settings.get(ROLE_SETTING[r]))}")
    if r in signed:
        return refuse("sign.already_signed", f"{ROLE_LABEL[r]}: {signed[r]}")
    if other in signed and person_key(signed[other]) == person_key(name):
        return refuse("sign.same_person_both_roles", f"{ROLE_LABEL[other]}: {signed[other]}")
    both = other in signed
    record = {"slip_no": slip_no, "role": ROLE_LABEL[r], "signer": name, "signed_at": now,
              "fingerprint": current_fingerprint, "valid": VALID}
    update = {f"{r}_signer": name, f"{r}_signed_at": now, "state": SLIP_SIGNED if both else SLIP_AWAIT_SIGNATURE}
    return SignDecision("accepted", slip_no, r, name, signature=record, slip_update=update, both_signed=both)


# -- content changed after signing ------------------------------------------------------------------
@dataclass
class VoidUpdates:
    signature_rows: list = field(default_factory=list)      # 签字记录 rows (index) whose 有效 becomes 失效
    slip_updates: dict[str, dict] = field(default_factory=dict)   # slip_no -> 出库单 columns to set
    changed: list[dict] = field(default_factory=list)       # slip_no, recorded, current: content changed
    hold_slips: list[str] = field(default_factory=list)     # were fully signed, no longer: 待发货 lines wait


def void_changed(slips: pd.DataFrame | Iterable[Mapping], signatures,
                 current_fingerprints: Mapping[str, str]) -> VoidUpdates:
    """Void the signatures that no longer match their slip's content; send those slips back to 待签字.

    slips: 出库单 rows (slip_no, fingerprint, state, finance_signer, finance_signed_at, logistics_signer,
    logistics_signed_at). signatures: 签字记录 (index = its rows). current_fingerprints: slip_no ->
    the fingerprint recomputed from the order lines; a slip not in it is left alone (cannot be judged),
    as is a void slip. A valid signature whose fingerprint differs from the current one is voided.
    Running it again on the result changes nothing.
    """
    slip_frame = _records(slips)
    sig = _records(signatures)
    out = VoidUpdates()
    sig_slip, sig_role, sig_fp, sig_valid = (_get(sig, k) for k in ("slip_no", "role", "fingerprint", "valid"))
    for slip in slip_frame.to_dict("records"):
        slip_no = _text(slip.get("slip_no"))
        if not slip_no or slip_no not in current_fingerprints or is_void_slip(slip):
            continue
        current = _fp(current_fingerprints[slip_no])
        recorded = _fp(slip.get("fingerprint"))
        changed = recorded != current
        if changed:
            out.changed.append({"slip_no": slip_no, "recorded": _text(slip.get("fingerprint")) or "",
                                "current": current_fingerprints[slip_no]})
        before: set[str] = set()
        after: set[str] = set()
        voided = False
        for row, s, role, fp, valid in zip(sig.index, sig_slip, sig_role, sig_fp, sig_valid):
            r = role_of(role)
            if _text(s) != slip_no or not is_valid(valid) or r is None:
                continue
            before.add(r)
            if _fp(fp) == current and not changed:
                after.add(r)
            else:
                out.signature_rows.append(row)
                voided = True
        if not (changed or voided):
            continue
        update: dict = {}
        for r in ROLES:
            if r not in after:
                for key in (f"{r}_signer", f"{r}_signed_at"):
                    if not nz._is_missing(slip.get(key)) and _text(slip.get(key)) is not None:
                        update[key] = None
        if _text(slip.get("state")) != SLIP_AWAIT_SIGNATURE:
            update["state"] = SLIP_AWAIT_SIGNATURE
        if update:
            out.slip_updates[slip_no] = update
        if before >= set(ROLES) or _text(slip.get("state")) == SLIP_SIGNED:
            out.hold_slips.append(slip_no)
    return out


def ready_slips(slips: pd.DataFrame | Iterable[Mapping], signatures,
                current_fingerprints: Mapping[str, str]) -> list[str]:
    """Slips whose lines may ship (→ 待发货): not void, content unchanged (recorded = current
    fingerprint) and both roles validly signed on that fingerprint."""
    out = []
    for slip in _records(slips).to_dict("records"):
        slip_no = _text(slip.get("slip_no"))
        if not slip_no or slip_no not in current_fingerprints or is_void_slip(slip):
            continue
        current = current_fingerprints[slip_no]
        if _fp(slip.get("fingerprint")) != _fp(current) or not _fp(current):
            continue
        if set(valid_signatures(signatures, slip_no, current)) >= set(ROLES):
            out.append(slip_no)
    return out
