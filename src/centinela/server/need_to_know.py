"""The operations centre's need-to-know routes: signed exports, two-person widening, leak tracing, leak
statistics and the audit's verification. Every one of them writes to the audit chain.

Enforcement rule for every route here: a user who is not cleared for an alert gets exactly the answer they
would get for an alert that does not exist (404, same wording), so no route confirms that an alert exists.
A 403 is only given to someone who already may know the alert (cleared for it, or an administrator).
"""
# No `from __future__ import annotations`: FastAPI must see the route annotations, which use local names.

import time
from collections.abc import Collection
from typing import Annotated, Any

import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Response
from pydantic import BaseModel, Field

from centinela.alerts.signing import load_private_key, sign_export
from centinela.errors import InputError
from centinela.server.dossier import flight_dossier
from centinela.store import Store, User

EXPORT_ENDPOINT = "GET /api/alerts/{run_id}/{alert_id}/export"


class WideningRequest(BaseModel):
    unit: str = Field(description="the unit that should receive the alert too")
    reason: str = Field(description="why it must (required)")


class Approval(BaseModel):
    reason: str = Field(description="why the approver agrees (required)")


class LeakedText(BaseModel):
    text: str = Field(description="the leaked text: a whole bulletin, a retyped fragment, a transcribed photo")
    run_id: str | None = None


def not_found(run_id: str, alert_id: str) -> HTTPException:
    """The one answer for an alert that does not exist and for one the user is not cleared for."""
    return HTTPException(404, f"no alert {alert_id!r} for you in run {run_id!r}")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    import json

    return json.loads(df.to_json(orient="records", double_precision=6)) if len(df) else []


def add_need_to_know_routes(app: FastAPI, store: Store, current_user, requiring, *, now_s,
                            signing_key=None, approvers: Collection[str] = (), units: pd.DataFrame | None = None
                            ) -> None:
    """Add the routes to ``app``. ``current_user``/``requiring`` are app.py's dependencies, ``now_s`` the
    picture's clock; ``signing_key`` (Ed25519, a key or a PEM path) signs exports and checkpoints;
    ``approvers`` are the usernames who may approve a widening besides administrators; ``units`` the
    register whose clearances a widening must respect."""
    key = None if signing_key is None else load_private_key(signing_key)
    UserDep = Annotated[User, Depends(current_user)]
    named_approvers = frozenset(approvers)

    def signed(payload: dict[str, Any]) -> dict[str, Any]:
        if key is None:
            raise HTTPException(503, "this server has no signing key (centinela serve --signing-key KEY)")
        return sign_export(payload, key)

    def may_approve(user: User) -> bool:
        return user.can("approve_widening") or user.username in named_approvers

    # --- signed exports --------------------------------------------------------------------------------

    @app.get("/api/alerts/{run_id}/{alert_id}/export", tags=["need to know"])
    def export_alert(user: UserDep, run_id: str, alert_id: str) -> dict[str, Any]:
        """Your marked copy of an alert as a signed document (Ed25519), checkable without the server
        (``centinela verify-export``). Audited as an export; carries the audit's head as an anchor."""
        if key is None:
            raise HTTPException(503, "this server has no signing key (centinela serve --signing-key KEY)")
        found = store.read_alerts(user, EXPORT_ENDPOINT, run_id=run_id, alert_ids=[(run_id, alert_id)],
                                  t1_s=now_s(), action="export")
        if found.empty:
            raise not_found(run_id, alert_id)
        return signed({"kind": "alert", "alert": _records(found)[0], "exported_by": user.username,
                       "unit": user.unit, "exported_at": time.time(), "audit_head": store.audit_head()})

    @app.get("/api/flights/{track_id}/export", tags=["need to know"])
    def export_dossier(user: UserDep, track_id: str, run_id: str | None = None) -> dict[str, Any]:
        """A flight's dossier (evidence: track, events, score, the alerts you are cleared for) as a signed
        document. Audited as an export."""
        if key is None:
            raise HTTPException(503, "this server has no signing key (centinela serve --signing-key KEY)")
        dossier = flight_dossier(store, user, track_id, run_id=run_id, until_s=now_s())
        if dossier is None:
            raise HTTPException(404, f"no track {track_id!r}")
        store.append_audit("export", user.username, unit=user.unit, run_id=dossier["run_id"],
                           endpoint="GET /api/flights/{track_id}/export", track_id=track_id,
                           alert_ids=[a["alert_id"] for a in dossier["alerts"]])
        return signed({"kind": "dossier", "dossier": dossier, "exported_by": user.username, "unit": user.unit,
                       "exported_at": time.time(), "audit_head": store.audit_head()})

    # --- two-person widening ---------------------------------------------------------------------------

    @app.post("/api/alerts/{run_id}/{alert_id}/widen", tags=["need to know"], status_code=201)
    def request_widening(user: UserDep, run_id: str, alert_id: str, body: WideningRequest) -> dict[str, Any]:
        """Ask for another unit to receive an alert you are cleared for (or, as an administrator, any alert),
        with a reason. Nothing changes until a second authorised person approves."""
        if not (store.is_cleared(user, run_id, alert_id) or user.can("dispatch")):
            raise not_found(run_id, alert_id)
        try:
            request_id = store.request_widening(run_id, alert_id, body.unit, requested_by=user.username,
                                                reason=body.reason)
        except InputError as e:
            raise HTTPException(400, e.message) from None
        except KeyError:
            raise not_found(run_id, alert_id) from None
        return {"request_id": request_id, "status": "pending"}

    @app.get("/api/widening", tags=["need to know"])
    def widening_requests(user: UserDep, status: str | None = None) -> Response:
        """Widening requests: all for those who may approve them, else the ones you made."""
        requests = store.widening_requests(status=status)
        if not may_approve(user):
            requests = requests[requests["requested_by"] == user.username]
        return Response(requests.to_json(orient="records") if len(requests) else "[]",
                        media_type="application/json")

    @app.post("/api/widening/{request_id}/approve", tags=["need to know"])
    def approve_widening(user: UserDep, request_id: int, body: Approval) -> dict[str, Any]:
        """Approve a pending request: needs the approve right (administrators, the register's approvers),
        another person than the requester, and a reason."""
        pending = store.widening_requests(status="pending")
        if not may_approve(user) or request_id not in set(pending["id"].tolist()):
            # The same answer for a missing request and for one this user may not even see.
            raise HTTPException(404, f"no pending widening request {request_id} for you")
        authorised = set(named_approvers) | ({user.username} if user.can("approve_widening") else set())
        try:
            return store.approve_widening(request_id, approved_by=user.username, reason=body.reason,
                                          authorised=authorised, units=units)
        except PermissionError as e:
            raise HTTPException(403, str(e)) from None
        except InputError as e:
            raise HTTPException(400, e.message) from None
        except KeyError:
            raise HTTPException(404, f"no pending widening request {request_id} for you") from None

    # --- leaks -----------------------------------------------------------------------------------------

    @app.post("/api/trace-leak", tags=["need to know"])
    def trace(user: Annotated[User, Depends(requiring("trace"))], body: LeakedText) -> dict[str, Any]:
        """The recipients whose marked copy the leaked text most likely came from, with likelihood ratios,
        or "too small to tell". An analyst's search covers the copies of the alerts cleared to them only."""
        try:
            from centinela.alerts.trace import trace_leak
        except ImportError:
            raise HTTPException(501, "leak tracing (centinela.alerts.trace) is not installed") from None
        copies = store.copies(run_id=body.run_id)
        if not user.can("audit_all"):
            cleared = store.cleared_alerts(user)
            copies = copies[[(r, a) in cleared for r, a in zip(copies["run_id"], copies["alert_id"])]]
        copies = copies.reset_index(drop=True)
        if copies.empty:
            result = {"verdict": "too small to tell", "top_unit": None, "ranking": [],
                      "note": "no marked copies to compare with"}
        else:
            found = trace_leak(body.text, copies)
            result = {"verdict": found.verdict, "top_unit": found.top, "candidates": list(found.candidates),
                      "n_marks": found.n_marks, "ranking": _records(found.ranking)}
        store.append_audit("trace_leak", user.username, unit=user.unit, run_id=body.run_id,
                           endpoint="POST /api/trace-leak", verdict=result["verdict"], top_unit=result["top_unit"],
                           text_chars=len(body.text))
        return result

    @app.get("/api/leaks", tags=["need to know"])
    def leaks(user: Annotated[User, Depends(requiring("leaks"))], run_id: str | None = None) -> Response:
        """Every unit's posterior probability of leaking (mean, 90% credible interval, p_leaks, flagged), from
        how often suspect flights failed to arrive after alerts that reached the unit and after alerts that
        did not. Counts of alerts only: no alert is shown."""
        from centinela.alerts.leaks import leak_posteriors
        from centinela.alerts.outcomes import alert_outcomes

        alerts = store.alerts_for_statistics(run_id=run_id)
        dispatch = store.dispatch_frame(run_id=run_id)
        events = store.events(run_id=run_id)
        # An alert id is unique within a run: statistics over several runs key alerts by both.
        alerts = alerts.assign(alert_id=alerts["run_id"].astype(str) + "/" + alerts["alert_id"].astype(str))
        events = events.assign(run_id=events["run_id"].astype(str))
        outcomes = pd.concat([alert_outcomes(alerts[alerts["run_id"] == run], events[events["run_id"] == run])
                              for run in alerts["run_id"].unique()]) if len(alerts) else alert_outcomes(alerts, events)
        dispatch = dispatch.assign(alert_id=dispatch["run_id"].astype(str) + "/" + dispatch["alert_id"].astype(str))
        posteriors = leak_posteriors(dispatch, outcomes, units)
        store.append_audit("leak_posteriors", user.username, unit=user.unit, run_id=run_id,
                           endpoint="GET /api/leaks", flagged=posteriors.loc[posteriors["flagged"], "unit_id"].tolist())
        return Response(posteriors.to_json(orient="records", double_precision=6), media_type="application/json")

    # --- the audit -------------------------------------------------------------------------------------

    @app.get("/api/audit/verify", tags=["need to know"])
    def verify(user: Annotated[User, Depends(requiring("audit_verify"))]) -> dict[str, Any]:
        """Check the audit chain: each problem names the entry and says edited, removed, reordered or inserted.
        The check itself is audited (after it ran)."""
        verdict = store.verify_audit()
        store.append_audit("audit_verify", user.username, unit=user.unit, endpoint="GET /api/audit/verify",
                           ok=verdict.ok, problems=len(verdict.problems))
        return {"ok": verdict.ok, "n_entries": verdict.n_entries, "head": verdict.head,
                "problems": [p._asdict() for p in verdict.problems]}

    @app.post("/api/audit/checkpoint", tags=["need to know"])
    def checkpoint(user: Annotated[User, Depends(requiring("audit_verify"))]) -> dict[str, Any]:
        """The audit's head, signed: keep it off this server (print it, mail it to the prosecutor). Later
        verifications with it catch a cut tail or a rewritten, re-chained past."""
        if key is None:
            raise HTTPException(503, "this server has no signing key (centinela serve --signing-key KEY)")
        store.append_audit("audit_checkpoint", user.username, unit=user.unit, endpoint="POST /api/audit/checkpoint")
        return signed({"kind": "audit-checkpoint", "audit_head": store.audit_head(), "signed_at": time.time(),
                       "signed_by": user.username})
