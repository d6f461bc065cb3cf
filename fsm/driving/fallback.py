"""The fallback handed to a citizen whose notification was refused.

The documentation page advises two things when the IO message cannot be sent: suggest that the
citizen turn on "Contattarti in app" in the Firma con IO service card, and reach them through
another channel, the "Firma con IO" button or a QR code. Both channels lead to the universal link
``https://continua.io.pagopa.it/fci/main?signatureRequestId=<id>`` (API-NOTES §5). The QR code is
rendered here, locally, with segno: nothing is fetched.

The button is PagoPA's web component ``<io-sign>``, loaded as an ES module from
:data:`BUTTON_SCRIPT_URL` into the administration's own page. When the citizen clicks it, it emits
the DOM event ``io-sign.cta.click`` and shows a spinner until the page calls its
``redirectOrShowQrCode(signatureRequestId)`` with a request already in WAIT_FOR_SIGNATURE: on a
phone it opens the universal link, on a desktop it shows the QR code in a dialog. A refused
request is such a request, so :func:`button_snippet` writes the whole wiring for it: the script
tag, the element and a listener that hands the element this request's id. The id is escaped for
the HTML attribute and for the JavaScript string it appears in.
"""

from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from ..ids import check_request_id
from ..machine.answers import Kind

if TYPE_CHECKING:
    import segno

IO_LINK_BASE = "https://continua.io.pagopa.it"
BUTTON_SCRIPT_URL = "https://assets.cdn.io.pagopa.it/sign/io-sign.js"
"""The "Firma con IO" button's web component, an ES module served by PagoPA's CDN."""
BUTTON_CLICK_EVENT = "io-sign.cta.click"
"""The DOM event ``<io-sign>`` emits (bubbling, composed) when the citizen clicks it."""

ADVICE: dict[Kind, tuple[str, str]] = {
    Kind.MESSAGES_DISABLED: (
        "Per ricevere la richiesta in app, attiva «Contattarti in app» nella scheda del servizio "
        "Firma con IO (sezione «Servizi» dell'app IO). Intanto puoi firmare dal link o "
        "inquadrando il QR code.",
        'To receive the request in the app, turn on "Contattarti in app" in the Firma con IO '
        'service card (the "Servizi" section of the IO app). Meanwhile you can sign from the '
        "link or by scanning the QR code.",
    ),
    Kind.NO_IO_PROFILE: (
        "Per firmare, installa l'app IO e accedi con SPID o CIE; poi apri il link o inquadra il "
        "QR code.",
        "To sign, install the IO app and log in with SPID or CIE; then open the link or scan "
        "the QR code.",
    ),
    Kind.IO_UNAVAILABLE: (
        "Il messaggio in app non è stato consegnato per un problema temporaneo di IO: verrà "
        "inviato di nuovo più tardi. Intanto puoi firmare dal link o inquadrando il QR code.",
        "The in-app message could not be delivered because of a temporary problem of IO: it "
        "will be sent again later. Meanwhile you can sign from the link or by scanning the QR "
        "code.",
    ),
}
"""Advice by refusal, in Italian then English."""


def universal_link(request_id: str) -> str:
    """The link that opens the request in IO (or leads to the app stores)."""
    return f"{IO_LINK_BASE}/fci/main?{urlencode({'signatureRequestId': request_id})}"


def qr_image_url(request_id: str) -> str:
    """The QR image the IO link service serves for a request (PNG)."""
    return f"{IO_LINK_BASE}/qrcode.png?feat=firma&srid={quote(request_id, safe='')}"


def _js_string(value: str) -> str:
    """``value`` as a JavaScript string literal that stays one inside an HTML ``<script>``.

    JSON is a JavaScript literal (with ``ensure_ascii`` even U+2028 and U+2029 are escaped);
    ``<``, ``>`` and ``&`` are escaped too, so neither ``</script>`` nor ``<!--`` can end or
    change the script element the literal is written in.
    """
    literal = json.dumps(value, ensure_ascii=True)
    return literal.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def button_snippet(request_id: str) -> str:
    """The HTML an administration pastes into its page to offer the "Firma con IO" button.

    Three parts: the ``<script type="module">`` that loads the web component from
    :data:`BUTTON_SCRIPT_URL`, an ``<io-sign>`` element with an ``id`` of its own, and an inline
    script that listens for :data:`BUTTON_CLICK_EVENT` on that element and calls its
    ``redirectOrShowQrCode`` with ``request_id``. The inline script declares no variable, so the
    snippets of several requests can share a page (the module is loaded once).

    ``request_id`` is checked (:func:`~.ids.check_request_id`; an unusable one raises
    InvalidRequestId) and escaped anyway: ``html.escape`` in the attribute, a JSON literal with
    ``<``, ``>`` and ``&`` escaped in the script.
    """
    check_request_id(request_id)
    element_id = f"firmaio-io-sign-{request_id}"
    return (
        f'<script type="module" src="{BUTTON_SCRIPT_URL}"></script>\n'
        f'<io-sign id="{html.escape(element_id, quote=True)}"></io-sign>\n'
        "<script>\n"
        f"  document.getElementById({_js_string(element_id)}).addEventListener(\n"
        f"    {_js_string(BUTTON_CLICK_EVENT)},\n"
        f"    (event) => event.currentTarget.redirectOrShowQrCode({_js_string(request_id)}),\n"
        "  );\n"
        "</script>\n"
    )


@dataclass(frozen=True, slots=True)
class Fallback:
    """What an administration can hand to a citizen who did not get the IO message."""

    signature_request_id: str
    reason: Kind
    advice_it: str
    advice_en: str
    link: str
    qr_image_url: str

    @classmethod
    def for_refusal(
        cls, request_id: str, reason: Kind, api_qr_code_url: str | None = None
    ) -> Fallback:
        """The fallback for ``reason``; the QR URL the API gave, if any, is preferred."""
        advice_it, advice_en = ADVICE[reason]
        return cls(
            signature_request_id=request_id,
            reason=reason,
            advice_it=advice_it,
            advice_en=advice_en,
            link=universal_link(request_id),
            qr_image_url=api_qr_code_url or qr_image_url(request_id),
        )

    def _qr(self) -> segno.QRCode:
        import segno  # with its XML writer, imported when a QR code is drawn, not at every start

        return segno.make_qr(self.link, error="m")

    def qr_svg(self, *, scale: int = 4) -> str:
        """The QR code of :attr:`link`, as an SVG document."""
        buffer = io.BytesIO()
        self._qr().save(buffer, kind="svg", scale=scale, xmldecl=True)
        return buffer.getvalue().decode()

    def qr_png(self, *, scale: int = 6) -> bytes:
        """The QR code of :attr:`link`, as PNG bytes."""
        buffer = io.BytesIO()
        self._qr().save(buffer, kind="png", scale=scale)
        return buffer.getvalue()

    def button_html(self) -> str:
        """The "Firma con IO" button for this request, as :func:`button_snippet` writes it."""
        return button_snippet(self.signature_request_id)
