"""Examples for each command's ``--help``, by the command's words (``"audit show"``): a new command
adds its lines here (or passes ``epilog=`` to ``add_parser``); a test fails for one without."""

from __future__ import annotations

EXAMPLES: dict[str, str] = {
    "demo": "  firmaio demo\n  firmaio demo --db out/demo.sqlite --qr-dir out",
    "send": (
        "  export FIRMAIO_API_KEY=... FIRMAIO_FISCAL_CODE=...\n"
        "  firmaio send modulo.pdf --field firma:'Firma del modulo' --db flows.sqlite\n"
        "  firmaio send modulo.pdf --fields fields.toml --fiscal-code-file - --json < cf.txt"
    ),
    "fetch": "  firmaio fetch FLOW_ID --db flows.sqlite --to signed",
    "delivered": "  firmaio delivered FLOW_ID --db flows.sqlite --channel email --note 'by PEC'",
    "notify": (
        "  firmaio notify 01ARZ3NDEKTSV4RRFFQ69G5FAV\n"
        "  firmaio notify 01ARZ3NDEKTSV4RRFFQ69G5FAV --db flows.sqlite --json -v"
    ),
    "watch": "  firmaio watch 01ARZ3NDEKTSV4RRFFQ69G5FAV --interval 60 --db flows.sqlite",
    "cancel": "  firmaio cancel 01ARZ3NDEKTSV4RRFFQ69G5FAV --db flows.sqlite",
    "run": (
        "  firmaio run ID1 ID2 ID3 --db flows.sqlite\n"
        "  FIRMAIO_DB=postgresql://firmaio@db/firmaio firmaio run --dossier DOSSIER_ID --json"
    ),
    "serve": "  firmaio serve --db flows.sqlite --tick 5 --log-format json --log-level info",
    "worker": "  firmaio worker --db postgresql://firmaio@db/firmaio --tenants tenants.toml",
    "enqueue": "  firmaio enqueue ID1 ID2 --db postgresql://firmaio@db/firmaio --tenant comune",
    "check": "  firmaio check FLOW_ID --db flows.sqlite",
    "audit": "  firmaio audit verify --db flows.sqlite\n  firmaio audit show ID --db flows.sqlite",
    "audit verify": (
        "  firmaio audit verify --db flows.sqlite --json\n"
        "  firmaio audit verify --db flows.sqlite --key-file checkpoint.key "
        "--write-checkpoint heads.json"
    ),
    "audit show": (
        "  firmaio audit show FLOW_ID --db flows.sqlite\n"
        "  firmaio audit show FLOW_ID --db flows.sqlite --diagram mermaid | head"
    ),
    "events": (
        "  firmaio events --db flows.sqlite --dead\n"
        "  firmaio events --db flows.sqlite --follow --after 0"
    ),
    "events redeliver": "  firmaio events --db flows.sqlite redeliver --dead-since 24h",
    "report": "  firmaio report --db flows.sqlite --out out/report.html",
    "diagram": "  firmaio diagram --format dot --out machine.dot\n  firmaio diagram --write out",
    "sandbox": "  firmaio sandbox --port 7071 --key my-key:my-issuer",
    "batch": "  firmaio batch status BATCH_ID --db flows.sqlite",
    "batch status": "  firmaio batch status BATCH_ID --db flows.sqlite --json",
    "console": (
        "  FIRMAIO_CONSOLE_SECRET=... firmaio console --db flows.sqlite --port 8400\n"
        "  firmaio console --db flows.sqlite --oidc-issuer https://login.comune.it "
        "--oidc-client-id firmaio-console --oidc-client-secret-env OIDC_SECRET"
    ),
    "console add-user": (
        "  firmaio console add-user maria --db flows.sqlite --role comune-a:operator\n"
        "  firmaio console add-user luca@comune.it --db flows.sqlite "
        "--oidc https://login.comune.it --role '*:viewer'"
    ),
    "evidence": (
        "  firmaio evidence keygen signing.pem public.pem\n"
        "  firmaio evidence ID --db flows.sqlite --checkpoint checkpoint.json "
        "--public-key public.pem --out bundles\n"
        "  firmaio evidence verify bundles/ID --public-key public.pem"
    ),
}
"""A command's examples, indented two spaces, one command line each."""
