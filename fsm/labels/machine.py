"""The machine's names in the reviewer's language: each state, trigger, guard and reason as
``code name: (Italian, English)``. The code names stay what records, diagrams and the API use;
these are what a page shows beside them. A test checks every one of the table has both."""

from __future__ import annotations

STATES: dict[str, tuple[str, str]] = {
    "RECEIVED": ("Ricevuta", "Received"),
    "SIGNER_FOUND": ("Firmatario trovato", "Signer found"),
    "DOCUMENT_CHECKED": ("Documento verificato", "Document checked"),
    "DOSSIER_CHOSEN": ("Dossier scelto", "Dossier chosen"),
    "DRAFT_CREATED": ("Bozza creata", "Draft created"),
    "UPLOAD_URL_ISSUED": ("Indirizzo di caricamento ottenuto", "Upload URL issued"),
    "DOCUMENT_UPLOADED": ("Documento caricato", "Document uploaded"),
    "DOCUMENT_VALIDATED": ("Documento convalidato", "Document validated"),
    "DOCUMENT_REFUSED": ("Documento rifiutato", "Document refused"),
    "READY": ("Pronta", "Ready"),
    "WAIT_FOR_SIGNATURE": ("In attesa di firma", "Waiting for signature"),
    "NOTIFIED": ("Notificata su IO", "Notified on IO"),
    "NOTIFY_REFUSED": ("Notifica rifiutata", "Notification refused"),
    "FALLBACK_SUGGESTED": ("Canale alternativo proposto", "Fallback suggested"),
    "SIGNED": ("Firmata", "Signed"),
    "REJECTED": ("Firma non riuscita", "Signature failed"),
    "CANCELLED": ("Annullata", "Cancelled"),
    "FAILED": ("Interrotta per errore", "Failed"),
    "EXPIRED": ("Scaduta", "Expired"),
}

TRIGGERS: dict[str, tuple[str, str]] = {
    "check_activation": ("Verifica dell'attivazione", "Check activation"),
    "notify": ("Invio del messaggio su IO", "Send the IO message"),
    "suggest_fallback": ("Proposta di un canale alternativo", "Suggest another channel"),
    "check_status": ("Lettura dello stato", "Check status"),
    "cancel": ("Annullamento", "Cancel"),
    "recover_notification": (
        "Ripresa della notifica dopo un'interruzione",
        "Recover the notification after a crash",
    ),
    "deliver_fallback": ("Consegna per canale alternativo", "Deliver by another channel"),
    "fetch_documents": ("Scaricamento dei documenti firmati", "Fetch the signed documents"),
    "find_signer": ("Ricerca del firmatario", "Find the signer"),
    "check_document": ("Verifica del documento", "Check the document"),
    "open_dossier": ("Apertura del dossier", "Open the dossier"),
    "create_request": ("Creazione della richiesta", "Create the request"),
    "recover_request": (
        "Ripresa della creazione dopo un'interruzione",
        "Recover the creation after a crash",
    ),
    "get_upload_url": ("Richiesta dell'indirizzo di caricamento", "Get the upload URL"),
    "upload_document": ("Caricamento del documento", "Upload the document"),
    "recover_upload": (
        "Ripresa del caricamento dopo un'interruzione",
        "Recover the upload after a crash",
    ),
    "check_validation": ("Verifica della convalida", "Check the validation"),
    "mark_ready": ("Richiesta resa pronta", "Mark ready"),
}

GUARDS: dict[str, tuple[str, str]] = {
    "activation_deadline_passed": (
        "scaduto il termine per l'attivazione", "the activation deadline passed"),
    "cancel_was_accepted": ("annullamento accettato", "the cancel was accepted"),
    "citizen_disabled_messages": (
        "il cittadino ha disattivato i messaggi", "the citizen turned messages off"),
    "citizen_has_no_io_profile": (
        "il cittadino non ha un profilo IO", "the citizen has no IO profile"),
    "citizen_is_not_on_io": ("il cittadino non è su IO", "the citizen is not on IO"),
    "creation_is_ambiguous": ("esito della creazione incerto", "the creation is ambiguous"),
    "document_is_invalid": ("documento non valido", "the document is invalid"),
    "document_is_valid": ("documento valido", "the document is valid"),
    "document_was_rejected": ("documento respinto", "the document was rejected"),
    "document_was_uploaded": ("documento caricato", "the document was uploaded"),
    "document_was_validated": ("documento convalidato", "the document was validated"),
    "another_document_to_upload": (
        "documento convalidato, un altro da caricare",
        "the document was validated, another is to be uploaded",
    ),
    "documents_were_fetched": ("documenti scaricati", "the documents were fetched"),
    "dossier_is_known": ("dossier noto", "the dossier is known"),
    "dossier_not_found": ("dossier non trovato", "the dossier was not found"),
    "fallback_was_delivered": (
        "canale alternativo consegnato", "the fallback was delivered"),
    "fell_back_to_draft": ("tornata in bozza", "fell back to draft"),
    "has_expired": ("scaduta", "has expired"),
    "io_did_not_take_the_message": (
        "IO non ha accettato il messaggio", "IO did not take the message"),
    "is_cancelled": ("annullata", "is cancelled"),
    "is_rejected": ("firma non riuscita", "is rejected"),
    "is_signed": ("firmata", "is signed"),
    "is_still_open": ("ancora aperta", "is still open"),
    "is_still_ready": ("ancora pronta, non attiva", "is still ready"),
    "is_still_validating": ("convalida in corso", "is still validating"),
    "is_waiting_for_signature": ("in attesa di firma", "is waiting for signature"),
    "message_was_sent": ("messaggio inviato", "the message was sent"),
    "notification_failed_permanently": (
        "notifica fallita in modo definitivo", "the notification failed for good"),
    "request_is_gone": ("richiesta non più presente", "the request is gone"),
    "request_not_found": ("richiesta non trovata", "the request was not found"),
    "request_was_created": ("richiesta creata", "the request was created"),
    "request_was_marked_ready": ("richiesta resa pronta", "the request was marked ready"),
    "request_was_not_created": ("richiesta non creata", "the request was not created"),
    "set_up_request_vanished": (
        "richiesta sparita durante la preparazione", "the request vanished in set-up"),
    "set_up_was_refused": ("preparazione rifiutata", "the set-up was refused"),
    "signer_was_found": ("firmatario trovato", "the signer was found"),
    "status_check_failed_permanently": (
        "lettura dello stato fallita in modo definitivo", "the status check failed for good"),
    "upload_arrived": ("caricamento arrivato", "the upload arrived"),
    "upload_did_not_arrive": ("caricamento non arrivato", "the upload did not arrive"),
    "upload_url_expired": (
        "indirizzo di caricamento scaduto", "the upload URL expired"),
    "upload_url_was_issued": (
        "indirizzo di caricamento ottenuto", "the upload URL was issued"),
    "validation_deadline_passed": (
        "scaduto il termine per la convalida", "the validation deadline passed"),
    "waits_in_an_unknown_status": (
        "in uno stato sconosciuto alla tabella", "waits in an unknown status"),
    "was_already_notified": ("già notificata", "was already notified"),
}  # fmt: skip

REASONS: dict[str, tuple[str, str]] = {
    "messages_disabled": (
        "il cittadino ha disattivato i messaggi di Firma con IO",
        "the citizen turned off messages from Firma con IO",
    ),
    "no_io_profile": ("il cittadino non ha un profilo IO", "the citizen has no IO profile"),
    "io_unavailable": (
        "IO non ha accettato il messaggio; nuovo tentativo più tardi",
        "IO did not take the message; tried again later",
    ),
    "issuer_reports": (
        "lo stato è quello riportato dall'API dell'ente", "the issuer API reports the status"),
    "cancel_accepted": (
        "l'API dell'ente ha accettato l'annullamento", "the issuer API accepted the cancel"),
    "expired": ("richiesta non firmata alla scadenza", "still unsigned when it expired"),
    "activation_deadline": (
        "richiesta ancora pronta al termine per l'attivazione",
        "still READY when the activation deadline passed",
    ),
    "not_found": ("la richiesta non esiste per questo ente", "no such request for this issuer"),
    "unexpected_status": (
        "la richiesta è in uno stato da cui il passo non può proseguire",
        "the request reads a status the step cannot go on from",
    ),
    "unknown_status": (
        "la richiesta è in uno stato sconosciuto alla tabella; resta aperta",
        "the request reads a status the table does not know; it stays open",
    ),
    "no_guard_held": (
        "nessuna condizione è stata soddisfatta; nulla è cambiato",
        "no guard held; nothing changed",
    ),
    "failed_for_good": ("errore definitivo", "a final error"),
    "not_on_io": (
        "il cittadino non è su IO: nessuna richiesta possibile",
        "the citizen is not on IO: no request can be made",
    ),
    "document_refused": (
        "il servizio ha rifiutato il PDF", "the service refused the PDF"),
    "validation_deadline": (
        "documento non convalidato entro il termine",
        "the document was not validated before the deadline",
    ),
    "dossier_not_found": (
        "il dossier indicato non esiste per questo ente",
        "the dossier named does not exist for this issuer",
    ),
    "set_up_failed": (
        "la preparazione della richiesta è fallita", "the request's set-up failed"),
}  # fmt: skip
