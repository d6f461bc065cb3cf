"""The words of the report and the evidence document, ``key: (Italian, English)``."""

from __future__ import annotations

MONTHS: tuple[tuple[str, str], ...] = (
    ("gennaio", "January"), ("febbraio", "February"), ("marzo", "March"), ("aprile", "April"),
    ("maggio", "May"), ("giugno", "June"), ("luglio", "July"), ("agosto", "August"),
    ("settembre", "September"), ("ottobre", "October"), ("novembre", "November"),
    ("dicembre", "December"),
)  # fmt: skip

WORDS: dict[str, tuple[str, str]] = {
    # a flow's section of the report (the evidence document shows the same)
    "flow": ("Richiesta", "Flow"),
    "hash_chain": ("Catena di hash", "Hash chain"),
    "intact": ("integra", "intact"),
    "checkpoint_word": ("Checkpoint", "Checkpoint"),
    "cp_matches": (
        "corrisponde al checkpoint (i suoi primi {seq} record sono quelli firmati)",
        "matches the checkpoint (its first {seq} records are the ones it signed)",
    ),
    "cp_none": ("nessun checkpoint fornito", "no checkpoint given"),
    "cp_newer": (
        "più recente del checkpoint: non coperta", "newer than the checkpoint: not covered by it"),
    "open_intent": ("Intento aperto", "Open intent"),
    "open_intent_why": (
        "la prossima esecuzione rilegge la richiesta prima di inviare di nuovo",
        "the next run reads the request before anything is sent again",
    ),
    "table_versions": ("Versioni della tabella", "Table versions"),
    "otherwise": ("altrimenti verso", "otherwise to"),
    "whole_machine": (
        "La macchina intera, con il percorso evidenziato",
        "The whole machine, with the path highlighted",
    ),
    "path_taken": ("Percorso seguito", "Path taken"),
    "guard": ("condizione", "guard"),
    "held": ("soddisfatta", "held"),
    "no_guard": ("nessuna condizione (sempre)", "no guard (always)"),
    "trail": ("Registro", "Trail"),
    "col_time": ("Quando (ora di Roma; UTC)", "Time (UTC / Europe/Rome)"),
    "col_trigger": ("Passo", "Trigger"),
    "col_move": ("Da → a", "From → to"),
    "col_outcome": ("Esito", "Outcome"),
    "col_evidence": ("Prove", "HTTP evidence"),
    "col_reason": ("Motivo", "Reason"),
    "col_basis": ("Base", "Basis"),
    "col_actor": ("Autore", "Actor"),
    "no_row": (
        "nessuna riga seguita (rifiutato o fallito: nulla è cambiato)",
        "no row followed (refused or failed: nothing changed)",
    ),
    "document_title": ("Titolo", "Title"),
    "fact_sent_sha256": ("SHA-256 del PDF inviato", "SHA-256 of the PDF sent"),
    "fact_signed_sha256": ("SHA-256 del PDF firmato", "SHA-256 of the signed PDF"),
    "fact_channel": ("canale alternativo", "fallback channel"),
    "fact_note": ("nota", "note"),
    "fact_signer_id": ("firmatario (id mascherato)", "signer (masked id)"),
    # the report's pages
    "report_title": (
        "Richieste di firma con IO: verifica di conformità",
        "Firma con IO notification flows: compliance review",
    ),
    "store": ("Archivio", "Store"),
    "flows_n": ("richieste", "flow(s)"),
    "whole_store": ("l'intero archivio", "the whole store"),
    "made": ("Generato il", "Made"),
    "by": ("da", "by"),
    "contents": ("Indice", "Contents"),
    "summary": ("riepilogo", "summary"),
    "list_page": ("pagina", "page"),
    "previous_page": ("pagina precedente", "previous page"),
    "next_page": ("pagina successiva", "next page"),
    "folder_meta": (
        "{flows} richieste, l'intero archivio: questo riepilogo, {lists} pagine di elenco e una "
        "pagina per richiesta in flows/.",
        "{flows} flow(s), the whole store: this summary, {lists} list page(s) and a page per "
        "flow in flows/.",
    ),
    "flows_a_page": ("Richieste, {n} per pagina", "Flows, {n} a page"),
    "the_machine": ("La macchina a stati", "The machine"),
    "the_machine_text": (
        "La panoramica su cui ogni pagina evidenzia il percorso della richiesta (generata dalla "
        "tabella delle transizioni che il motore esegue, diagrams/overview.svg).",
        "The overview every flow page highlights its path on (rendered from the transition "
        "table the engine runs, diagrams/overview.svg).",
    ),
    "verdict": ("Esito delle verifiche", "Verdict"),
    "all_intact": ("Ogni catena di hash è integra", "Every hash chain is intact"),
    "all_intact_detail": (
        "{flows} richieste, {records} record; nessun record è stato modificato, cancellato, "
        "riordinato o inserito dopo la scrittura.",
        "{flows} flows, {records} records; no record was edited, deleted, reordered or "
        "inserted since it was written.",
    ),
    "broken_chains": ("catene interrotte", "broken chain(s)"),
    "digest": ("Impronta di tutte le teste", "Digest of all heads"),
    "as_audit_prints": ("come la stampa", "as it is printed by"),
    "no_checkpoint": (
        "Nessun checkpoint fornito. Le catene mostrano che i registri non sono stati modificati "
        "a mano; solo un checkpoint firmato con una chiave tenuta fuori dal database mostra che "
        "nessuno ha riscritto un registro ricalcolandone gli hash (firmaio audit verify "
        "--write-checkpoint).",
        "No checkpoint given. The chains show the trails were not edited by hand; only a "
        "checkpoint signed with a key held outside the database shows nobody rewrote a trail "
        "and recomputed its hashes (firmaio audit verify --write-checkpoint).",
    ),
    "checkpoint_refused": ("Checkpoint rifiutato", "Checkpoint refused"),
    "rewritten": ("Riscritte dopo il checkpoint", "Rewritten since the checkpoint"),
    "of_date": ("del", "of"),
    "checkpoint_holds": ("Il checkpoint è valido", "The checkpoint holds"),
    "checkpoint_holds_detail": (
        "firmato il {when} ({path}) con una chiave tenuta fuori dal database; ogni registro "
        "firmato è invariato, e le catene proseguono dalle sue teste.",
        "signed {when} ({path}) with a key held outside the database; every trail it signed is "
        "unchanged, and the chains carry on from its heads.",
    ),
    "by_state": ("Richieste per stato", "Flows by state"),
    "state": ("Stato", "State"),
    "flows": ("Richieste", "Flows"),
    "records": ("Record", "Records"),
    "no_flows_in": ("Nessuna richiesta negli altri", "No flow in the other"),
    "states_word": ("stati", "states"),
    "refusals": ("Notifiche rifiutate, per motivo", "Refusals by reason"),
    "no_refusal": ("Nessuna notifica è stata rifiutata.", "No notification was refused."),
    "attention": (
        "Richieste da controllare: ferme, in uno stato sconosciuto o fallite",
        "Flows that need attention: stuck, reading an unknown status, or failed",
    ),
    "why": ("Perché", "Why"),
    "no_attention": (
        "Nessuna: ogni richiesta è a riposo, nessuna è in uno stato sconosciuto, nessuna è "
        "fallita.",
        "None: every flow is at rest, none reads an unknown status, and none failed.",
    ),
    "more_attention": (
        "E altre {n}: le pagine di elenco indicano lo stato di ciascuna.",
        "And {n} more: the list pages mark each flow's state.",
    ),
    "by_tenant": ("Richieste per ente", "Flows by tenant"),
    "tenant": ("Ente", "Tenant"),
    "how_to_read": ("Come leggere una richiesta", "How to read a flow"),
    "how_to_read_text": (
        "Il disegno di ogni richiesta è la panoramica della macchina (generata dalla tabella "
        "delle transizioni che il motore esegue): il percorso della pagina in blu, ciò che "
        "aggiunge l'API dell'ente tratteggiato in grigio. Gli stati visitati sono in arancione, "
        "e così i passaggi seguiti, con il loro numero di passo. Sotto, il percorso dice quale "
        "condizione era soddisfatta a ogni passo, e il registro elenca ogni tentativo, anche "
        "quelli rifiutati o falliti, con le prove HTTP, il motivo, la base della riga seguita "
        "citata dalla pagina o dalle note sull'API, e chi lo ha fatto. Ogni etichetta italiana "
        "è accanto al suo nome nel codice.",
        "Each flow's drawing is the machine's overview (rendered from the transition table the "
        "engine runs): the page's own path thick and blue, what the issuer API adds dashed and "
        "grey. The states this flow visited are filled in orange and the edges it took are "
        "orange, with their step numbers. Below it, the path lists which guard held at each "
        "step, and the trail lists every attempt, the refused and failed ones included, with "
        "the HTTP evidence, the reason, the basis of the row it followed quoted from the page "
        "or the API notes, and who made it.",
    ),
    "bases": ("Basi", "Bases"),
    "bases_text": (
        "Ogni riga della tabella delle transizioni cita la sua base: una frase della pagina "
        "«Tramite messaggio su IO», o un fatto dell'API dell'ente che va oltre la pagina "
        "(note sull'API).",
        "Every row of the transition table cites its basis: a sentence of the documentation "
        "page \"Tramite messaggio su IO\", or a fact of the issuer API beyond it (API notes).",
    ),
    "notes_title": ("Le note sull'API dell'ente citate", "The issuer API notes cited"),
    "notes_text": (
        "Ogni sezione citata come «API-NOTES §N», dal file API-NOTES.md distribuito con "
        "firmaio-fsm (note di ricerca su pagopa/io-sign, commit 5c6a10d5; le fonti al §0).",
        "Each section cited as \"API-NOTES §N\", from the file API-NOTES.md shipped with "
        "firmaio-fsm (research notes on pagopa/io-sign, commit 5c6a10d5; the sources in §0).",
    ),
    "key": ("Chiave", "Key"),
    "source": ("Fonte", "Source"),
    "text": ("Testo", "Text"),
    # outcomes of an attempt
    "accepted": ("accettato", "accepted"),
    "refused": ("rifiutato", "refused"),
    "error": ("errore", "error"),
    # the evidence document
    "evidence_title": ("Prova della richiesta di firma", "Evidence of the signature request"),
    "evidence_intro": (
        "Questo documento riporta, per una richiesta di firma con IO, chi è stato invitato a "
        "firmare cosa, ogni passo registrato con il suo esito, le prove e la base, e come "
        "verificarne l'integrità senza alcun segreto dell'ente.",
        "This document states, for one Firma con IO request, who was asked to sign what, each "
        "recorded step with its outcome, evidence and basis, and how to verify its integrity "
        "without any secret of the issuer.",
    ),
    "request": ("Richiesta", "Request"),
    "state_now": ("Stato attuale", "Current state"),
    "signer": ("Firmatario (mascherato)", "Signer (masked)"),
    "dossier": ("Dossier", "Dossier"),
    "what_signed": ("Documento da firmare", "Document to sign"),
    "documents": ("Impronte dei documenti (SHA-256)", "Documents' fingerprints (SHA-256)"),
    "doc_sent": ("PDF inviato", "PDF sent"),
    "doc_signed": ("PDF firmato", "Signed PDF"),
    "in_record": ("nel record", "in record"),
    "none_yet": ("nessuno (ancora)", "none (yet)"),
    "verdicts": ("Verifiche", "Verdicts"),
    "chain": ("Catena di hash", "Hash chain"),
    "chain_ok": (
        "integra: ogni record segue il precedente", "intact: each record follows the one before"
    ),
    "checkpoint": ("Checkpoint firmato", "Signed checkpoint"),
    "checkpoint_ok": (
        "i primi {seq} record sono quelli firmati il {when} (chiave Ed25519 {key})",
        "its first {seq} records are the ones signed on {when} (Ed25519 key {key})",
    ),
    "not_verified": ("NON VERIFICATA", "NOT VERIFIED"),
    "how_to_verify": ("Come verificare", "How to verify"),
    "verify_text": (
        "Nella cartella di prova di questa richiesta: trail.jsonl (i record con la catena di "
        "hash), documents.json (le impronte), checkpoint.json (il checkpoint firmato). Con la "
        "chiave pubblica dell'ente:",
        "In this request's evidence folder: trail.jsonl (the records with their hash chain), "
        "documents.json (the fingerprints), checkpoint.json (the signed checkpoint). With the "
        "issuer's public key:",
    ),
    "verify_script": (
        "oppure, senza firmaio, lo script verifica.py di docs/evidence.md (Python e "
        "cryptography). Confrontare infine le impronte con sha256sum dei file ricevuti.",
        "or, without firmaio, the script verifica.py of docs/evidence.md (Python and "
        "cryptography). Then compare the fingerprints with sha256sum of the files received.",
    ),
    "basis_page": ("la pagina «Tramite messaggio su IO»", "the page “Tramite messaggio su IO”"),
    "basis_notes": ("le note sull'API dell'ente", "the issuer API notes"),
    "basis_own": (
        "la prova dell'amministrazione, accanto al consiglio della pagina",
        "the administration's own evidence, beside the page's advice",
    ),
    "made_on": ("Documento generato il", "Document made on"),
}  # fmt: skip
