"""The rows of the page's own path: from READY through the activation check and the
notification to NOTIFIED, or to NOTIFY_REFUSED and the fallback; status checks and the issuer's
cancel once a request can be signed. Joined to :data:`fsm.machine.table.TABLE`.

Each row names its basis: the sentence of the documentation page it implements
(``tramite-messaggio-su-io.md``), or the fact of the issuer API that makes it needed beyond the
page (``API-NOTES.md``).
"""

from __future__ import annotations

from . import reasons as why
from . import spine_guards as g
from .states import State, Trigger
from .types import Basis, Row

SPINE_BASIS: dict[str, Basis] = {
    "page.wait": Basis(
        True,
        "attendere alcuni secondi affinché la signature request passi dallo status `READY` "
        "allo stato `WAIT_FOR_SIGNATURE`",
    ),
    "page.notify": Basis(
        True,
        "effettuare una richiesta verso l'endpoint `PUT /api/v1/sign/signature-requests/"
        "{signature_request_id}/notification` senza specificare nulla all'interno del corpo "
        "del messaggio. [...] riceverai in output il seguente messaggio contenente l'id del "
        "messaggio inviato all'utente",
    ),
    "page.push_off": Basis(
        True,
        "Il destinatario riceve e può visualizzare il messaggio in app, senza, però, ricevere "
        "la notifica push; per questo motivo riceverai l'io_message_id e non un errore.",
    ),
    "page.messages_off": Basis(
        True,
        "Riceverai un messaggio di errore che non ti consentirà di proseguire con l'invio del "
        'messaggio (ovvero, il parametro "io_message_id" non verrà restituito).',
    ),
    "page.fallback": Basis(
        True,
        "Suggerire all'utente di attivare la comunicazione del servizio Firma con IO dalla "
        'scheda servizio presente nella sezione "Servizi" dell\'app; Inviare la richiesta di '
        "firma tramite canali alternativi",
    ),
    "api.no_profile": Basis(
        False,
        'The notification answers 404 "User profile not found!" when the citizen has no IO '
        "profile (API-NOTES §3.2): a refusal like the one on the page, with other advice.",
    ),
    "api.deadline": Basis(
        False,
        "If the citizen-side step fails for good the request stays READY (API-NOTES §2.2): the "
        "page's 'alcuni secondi' become a deadline, after which the flow fails with the reason.",
    ),
    "api.unexpected_status": Basis(
        False,
        "The status enum is extensible, and an unknown status must not break a client "
        "(API-NOTES §2.1, §7): a status the table does not know is recorded and the flow stays "
        "open, waited on like READY until the activation deadline and watched after it; it is "
        "never a reason to close the flow.",
    ),
    "api.closed": Basis(
        False,
        "The issuer-side lifecycle closes a request as SIGNED, REJECTED or CANCELLED "
        "(API-NOTES §2.2); a flow follows it whenever it reads the request.",
    ),
    "api.already_notified": Basis(
        False,
        "A second notification call answers 422, not the first io_message_id (API-NOTES §3.2): "
        "reading the request back finds the notification, so no second message is sent.",
    ),
    "api.io_unavailable": Basis(
        False,
        'The service answers 400 "An error occurred while sending the message!" to any answer '
        "of IO other than 201, 429 and 500, IO's own 502 and 503 included (API-NOTES §3.1, "
        "§3.2): nothing was sent and the request stays WAIT_FOR_SIGNATURE. The citizen is "
        "offered the fallback meanwhile, and the notification is tried again a bounded number "
        "of times (ResendPolicy).",
    ),
    "api.not_found": Basis(
        False,
        'A missing request answers 404 "The specified Signature Request does not exist." '
        "(API-NOTES §3.2): permanent, the flow fails.",
    ),
    "api.permanent": Basis(
        False,
        "Other final answers (a 400 other than the refusals and IO's catch-all, a 422 the "
        "client could not resolve, a request fallen back to DRAFT or READY) cannot succeed on "
        "retry (API-NOTES §3.1, §3.2).",
    ),
    "api.renotify": Basis(
        False,
        "After a refusal the request is unchanged server-side (API-NOTES §3.2), so once the "
        "citizen turns messages on, as the page advises, the notification can be tried again.",
    ),
    "api.polling": Basis(
        False,
        "The issuer API has no webhooks; the issuer polls the request (API-NOTES §6).",
    ),
    "api.recover": Basis(
        False,
        "A process stopped between recording its intent to notify and recording the answer "
        "cannot know whether the message went out, and the service is not idempotent "
        "(API-NOTES §3.2): the request is read first, and a notification found there is kept.",
    ),
    "api.expiry": Basis(
        False,
        "A request expires at its expires_at (90 days by default), but the issuer API has no "
        "EXPIRED status and does not enforce it (API-NOTES §1.3.4, §2): a request read still "
        "WAIT_FOR_SIGNATURE after it closes the flow as EXPIRED, with the time as the reason.",
    ),
    "api.cancel": Basis(
        False,
        'The issuer cancels with PUT .../status "CANCELLED", allowed in WAIT_FOR_SIGNATURE '
        "(API-NOTES §1.3.5, §2.3).",
    ),
}
"""Why the page's rows exist: its own sentences, and the facts of the issuer API beyond them."""


def _closed_rows(source: State, trigger: Trigger) -> tuple[Row, ...]:
    """The three rows that follow the issuer's closed statuses from ``source``."""
    return (
        Row(source, trigger, State.SIGNED, g.is_signed, ("api.closed",), why.issuer_reports),
        Row(source, trigger, State.REJECTED, g.is_rejected, ("api.closed",), why.issuer_reports),
        Row(source, trigger, State.CANCELLED, g.is_cancelled, ("api.closed",), why.issuer_reports),
    )


def _notify_rows(source: State) -> tuple[Row, ...]:
    """The outcomes of a notification attempt; the same from WAIT_FOR_SIGNATURE and a fallback."""
    again = ("api.renotify",) if source is State.FALLBACK_SUGGESTED else ()
    notify = Trigger.NOTIFY
    return (
        Row(
            source,
            notify,
            State.NOTIFIED,
            g.message_was_sent,
            ("page.notify", "page.push_off", *again),
        ),
        Row(source, notify, State.NOTIFIED, g.was_already_notified, ("api.already_notified",)),
        Row(
            source,
            notify,
            State.NOTIFY_REFUSED,
            g.citizen_disabled_messages,
            ("page.messages_off", *again),
            why.messages_disabled,
        ),
        Row(
            source,
            notify,
            State.NOTIFY_REFUSED,
            g.citizen_has_no_io_profile,
            ("api.no_profile", *again),
            why.no_io_profile,
        ),
        Row(
            source,
            notify,
            State.NOTIFY_REFUSED,
            g.io_did_not_take_the_message,
            ("api.io_unavailable", *again),
            why.io_unavailable,
        ),
        *_closed_rows(source, notify),
        Row(
            source,
            notify,
            State.FAILED,
            g.notification_failed_permanently,
            ("api.not_found", "api.permanent"),
            why.failed_for_good,
        ),
    )


def _recover_rows(source: State) -> tuple[Row, ...]:
    """Resuming a notification whose outcome a crash left unknown: read before sending again."""
    recover = Trigger.RECOVER_NOTIFICATION
    return (
        Row(source, recover, State.NOTIFIED, g.was_already_notified, ("api.recover",)),
        Row(source, recover, source, g.is_waiting_for_signature, ("api.recover",)),
        *_closed_rows(source, recover),
        Row(
            source,
            recover,
            State.FAILED,
            g.status_check_failed_permanently,
            ("api.not_found",),
            why.failed_for_good,
        ),
    )


def _after_activation_rows(source: State) -> tuple[Row, ...]:
    """Status checks and the issuer's cancel, possible once the request can be signed."""
    check = Trigger.CHECK_STATUS
    return (
        Row(source, check, source, g.is_still_open, ("api.polling",)),
        Row(source, check, State.EXPIRED, g.has_expired, ("api.expiry",), why.expired),
        *_closed_rows(source, check),
        Row(
            source,
            check,
            State.FAILED,
            g.status_check_failed_permanently,
            ("api.not_found",),
            why.failed_for_good,
        ),
        Row(
            source,
            Trigger.CANCEL,
            State.CANCELLED,
            g.cancel_was_accepted,
            ("api.cancel",),
            why.cancel_accepted,
        ),
    )


_activation = Trigger.CHECK_ACTIVATION

SPINE_ROWS: tuple[Row, ...] = (
    # READY: the activation check reads the request.
    Row(
        State.READY,
        _activation,
        State.WAIT_FOR_SIGNATURE,
        g.is_waiting_for_signature,
        ("page.wait",),
    ),
    Row(State.READY, _activation, State.READY, g.is_still_ready, ("page.wait",)),
    Row(
        State.READY, _activation, State.NOTIFIED, g.was_already_notified, ("api.already_notified",)
    ),
    *_closed_rows(State.READY, _activation),
    Row(
        State.READY,
        _activation,
        State.FAILED,
        g.activation_deadline_passed,
        ("api.deadline",),
        why.activation_deadline,
    ),
    Row(
        State.READY,
        _activation,
        State.FAILED,
        g.request_not_found,
        ("api.not_found",),
        why.not_found,
    ),
    Row(
        State.READY,
        _activation,
        State.FAILED,
        g.fell_back_to_draft,
        ("api.permanent",),
        why.unexpected_status,
    ),
    Row(
        State.READY,
        _activation,
        State.READY,
        g.waits_in_an_unknown_status,
        ("api.unexpected_status",),
        why.unknown_status,
    ),
    # WAIT_FOR_SIGNATURE: the notification, then status checks and cancel.
    *_notify_rows(State.WAIT_FOR_SIGNATURE),
    *_recover_rows(State.WAIT_FOR_SIGNATURE),
    *_after_activation_rows(State.WAIT_FOR_SIGNATURE),
    # NOTIFIED: the citizen has the message; wait for the outcome.
    *_after_activation_rows(State.NOTIFIED),
    # NOTIFY_REFUSED: hand the citizen another channel.
    Row(
        State.NOTIFY_REFUSED,
        Trigger.SUGGEST_FALLBACK,
        State.FALLBACK_SUGGESTED,
        None,
        ("page.fallback",),
    ),
    # FALLBACK_SUGGESTED: try the message again, or wait for the outcome.
    *_notify_rows(State.FALLBACK_SUGGESTED),
    *_recover_rows(State.FALLBACK_SUGGESTED),
    *_after_activation_rows(State.FALLBACK_SUGGESTED),
)
"""The card's spine, from READY to rest, and its closing states."""
