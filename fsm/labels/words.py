"""The words of the report and the evidence document, ``key: (Italian, English)``."""

from __future__ import annotations

MONTHS: tuple[tuple[str, str], ...] = (
    ("gennaio", "January"), ("febbraio", "February"), ("marzo", "March"), ("aprile", "April"),
    ("maggio", "May"), ("giugno", "June"), ("luglio", "July"), ("agosto", "August"),
    ("settembre", "September"), ("ottobre", "October"), ("novembre", "November"),
    ("dicembre", "December"),
)  # fmt: skip

WORDS: dict[str, tuple[str, str]] = {
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
    "steps": ("Passi registrati", "Recorded steps"),
    "col_seq": ("N.", "No."),
    "col_when": ("Quando (ora di Roma)", "When (Rome time)"),
    "col_step": ("Passo", "Step"),
    "col_outcome": ("Esito", "Outcome"),
    "col_evidence": ("Prove", "Evidence"),
    "col_basis": ("Base", "Basis"),
    "from_to": ("da {source} a {target}", "from {source} to {target}"),
    "guard_held": ("condizione", "guard"),
    "reason": ("motivo", "reason"),
    "recorded_as": ("registrato come", "recorded as"),
    "fallback_channel": ("canale alternativo", "fallback channel"),
    "note": ("nota", "note"),
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
    "made_on": ("Documento generato il", "Document made on"),
    "code_names": ("nomi nel codice", "code names"),
}  # fmt: skip
