"""Hypothesis strategies for what the issuer API can answer."""

from __future__ import annotations

from hypothesis import strategies as st

from firmaio.fsm import (
    Answer,
    ApiConfigurationError,
    ApiProtocolError,
    ApiUnavailable,
    Kind,
    RequestStatus,
)

statuses = st.one_of(
    st.sampled_from([s.value for s in RequestStatus]),
    st.sampled_from(["WAIT_FOR_QTSP", "EXPIRED"]),
    st.text(min_size=0, max_size=12),
)
ids = st.one_of(st.none(), st.just("01G7VBM888NDGCMA84ZVZYJGZQ"), st.text(min_size=1, max_size=30))

facts = st.lists(
    st.tuples(
        st.sampled_from(
            ["signer_id", "dossier_id", "request_id", "document_id", "channel", "note", "x"]
        ),
        st.one_of(
            st.just("01GG4NFBCN4ZH8ETCCKX3A6V4J"), st.just("RSSMRA80A01H501U"), st.text(max_size=12)
        ),
    ),
    max_size=4,
).map(tuple)
"""What a set-up answer may teach: ids (or empty, or odd, or personal data), a channel..."""

answers = st.builds(
    Answer,
    kind=st.sampled_from(list(Kind)),
    http_status=st.one_of(st.none(), st.sampled_from([200, 201, 204, 400, 404, 422, 500])),
    status=st.one_of(st.none(), statuses),
    io_message_id=ids,
    qr_code_url=st.one_of(
        st.none(), st.just("https://continua.io.pagopa.it/qrcode.png?feat=firma&srid=X")
    ),
    detail=st.one_of(
        st.none(), st.text(max_size=60), st.just("fiscal code RSSMRA80A01H501U is wrong")
    ),
    facts=facts,
    upload_url=st.one_of(st.none(), st.just("https://blob.example/u?sig=x"), st.just("")),
)
"""Any answer, well formed or not: kinds and fields combined freely."""

api_errors = st.sampled_from(
    [
        ApiUnavailable("timed out after 3 attempts"),
        ApiConfigurationError("401: invalid subscription key"),
        ApiProtocolError("body is not JSON"),
    ]
)

answers_or_errors = st.one_of(answers, answers, answers, api_errors)
