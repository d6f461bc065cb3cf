"""The console's words, Italian first, with English: one table, each key its two texts.

The language is the session's (``?lang=en`` or ``?lang=it`` switches it), else Italian. A key
with no entry shows as itself, so a missing word is visible, never an error.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("it", "en")

TEXT: dict[str, tuple[str, str]] = {
    "title": ("Console di Firma con IO", "Firma con IO console"),
    "skip": ("Vai al contenuto principale", "Skip to the main content"),
    "overview": ("Panoramica", "Overview"),
    "flows": ("Richieste", "Requests"),
    "sign_in": ("Accedi", "Sign in"),
    "sign_out": ("Esci", "Sign out"),
    "sso_sign_in": (
        "Accedi con l'identity provider dell'amministrazione",
        "Sign in with your administration's identity provider",
    ),
    "sso_failed": (
        "Accesso tramite identity provider non riuscito",
        "Identity provider sign-in failed",
    ),
    "username": ("Nome utente", "User name"),
    "password": ("Password", "Password"),
    "wrong_login": ("Nome utente o password errati.", "Wrong user name or password."),
    "too_many": (
        "Troppi tentativi di accesso: riprova tra qualche minuto.",
        "Too many sign-in attempts: try again in a few minutes.",
    ),
    "expired": ("La sessione è scaduta: accedi di nuovo.", "Your session expired: sign in again."),
    "signed_in_as": ("Accesso come", "Signed in as"),
    "by_state": ("Richieste per stato e amministrazione", "Requests by state and administration"),
    "refusals": ("Rifiuti per motivo", "Refusals by reason"),
    "attention": ("Richieste bloccate o fallite", "Requests stuck or failed"),
    "last_day": ("Ultime 24 ore", "The last 24 hours"),
    "created": ("create", "created"),
    "records_written": ("registrazioni", "records written"),
    "tenant": ("Amministrazione", "Administration"),
    "state": ("Stato", "State"),
    "dossier": ("Dossier", "Dossier"),
    "refusal": ("Motivo del rifiuto", "Refusal reason"),
    "since": ("Creata dal", "Created from"),
    "until": ("Creata fino al", "Created until"),
    "flow_id": ("ID richiesta o flusso", "Request or flow id"),
    "filter": ("Filtra", "Filter"),
    "any": ("(tutti)", "(any)"),
    "none_found": ("Nessuna richiesta.", "No requests."),
    "next_page": ("Pagina successiva", "Next page"),
    "created_at": ("Creata", "Created"),
    "updated_at": ("Aggiornata", "Updated"),
    "records": ("Registrazioni", "Records"),
    "why": ("Perché", "Why"),
    "count": ("Quante", "How many"),
    "trail": ("Registro (ora di Roma)", "Trail (Rome time)"),
    "time": ("Ora", "Time"),
    "trigger": ("Evento", "Trigger"),
    "from_to": ("Da → a", "From → to"),
    "outcome": ("Esito", "Outcome"),
    "evidence": ("Evidenza", "Evidence"),
    "basis": ("Fondamento", "Basis"),
    "actor": ("Attore", "Actor"),
    "documents": ("Documenti", "Documents"),
    "no_documents": ("Nessun documento registrato.", "No document recorded."),
    "path": ("Percorso sul diagramma", "Path on the diagram"),
    "events": ("Eventi e consegne", "Events and deliveries"),
    "no_events": ("Nessun evento.", "No events."),
    "actions": ("Azioni", "Actions"),
    "cancel": ("Annulla la richiesta", "Cancel the request"),
    "cancel_selected": ("Annulla le richieste selezionate", "Cancel the selected requests"),
    "confirm_cancel": (
        "Confermi l'annullamento? L'operazione non si può disfare.",
        "Cancel for good? This cannot be undone.",
    ),
    "confirm": ("Conferma", "Confirm"),
    "back": ("Torna indietro", "Go back"),
    "notify": ("Invia di nuovo la notifica", "Notify again"),
    "fallback": ("Registra la consegna alternativa", "Record the fallback's delivery"),
    "channel": ("Canale (email, pec, lettera, sportello)", "Channel (email, pec, letter, desk)"),
    "note": ("Nota", "Note"),
    "fetch": ("Scarica i documenti firmati", "Fetch the signed documents"),
    "redeliver": ("Consegna di nuovo", "Redeliver"),
    "no_actions": (
        "Nessuna azione possibile in questo stato.",
        "No action can be taken in this state.",
    ),
    "select": ("Seleziona", "Select"),
    "done": ("Fatto.", "Done."),
    "viewer_only": (
        "Il tuo ruolo permette solo di consultare.",
        "Your role lets you look, not act.",
    ),
    "not_found": ("Pagina o richiesta non trovata.", "No such page or request."),
    "bad_input": ("Richiesta non valida", "Bad request"),
    "forbidden": ("Azione non permessa.", "Action not allowed."),
    "error": ("Qualcosa non ha funzionato", "Something went wrong"),
    "language": ("English", "Italiano"),
}


def translator(lang: str) -> Callable[[str], str]:
    """``t(key)``: the key's text in ``lang`` (Italian for an unknown language)."""
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0

    def t(key: str) -> str:
        entry = TEXT.get(key)
        return key if entry is None else entry[index]

    return t
