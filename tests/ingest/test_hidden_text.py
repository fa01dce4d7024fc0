"""Text a reader of the file cannot see is not read: CSS-hidden HTML, hidden or white Word runs."""

from __future__ import annotations

from pathlib import Path

from ingest.hidden import declarations, hides
from ingest.html import html_blocks

PAGE = b"""<html><head><style>
.quiet { color: #FFFFFF; } .shown { color: #333 }
#gone { display: none } main aside p, p.note + p.note { visibility: hidden }
[data-role=x] { position: absolute; left: -10000px } u { font-size: 1px }
.panel { background-color: #1d70b8 } .panel .ink { color: #1d70b8 } .panel .seen { color: #fff }
</style></head><body><main>
<p id="gone">Hidden six.</p>
<aside><p>Hidden seven.</p></aside>
<p class="note">Shown note.</p><p class="note">Hidden eight.</p>
<p data-role="x">Hidden nine.</p>
<p>Text with <u>Hidden ten.</u> in it.</p>
<div class="panel"><p class="ink">Hidden eleven.</p><p class="seen">White on blue is seen.</p></div>
<h1>Parking permits</h1>
<p>Residents can apply for one permit per car.<span style="display:none"> Hidden one.</span></p>
<p class="quiet">Hidden two.</p>
<p class="shown">A permit costs 40 pounds a year.</p>
<p style="font-size: 0px">Hidden three.</p>
<p style="position:absolute; left:-9999px">Hidden four.</p>
<div style="background-color:#000"><p style="color:#fff">White on black is seen.</p></div>
<p style="color:#fff">Hidden five.</p>
</main></body></html>"""


def test_css_hidden_html_is_not_read_and_what_shows_is() -> None:
    text = "\n".join(html_blocks(PAGE)[0])
    assert "Hidden" not in text
    for shown in ("Residents can apply for one permit per car.", "A permit costs 40 pounds a year.",
                  "White on black is seen.", "Shown note.", "White on blue is seen.", "in it."):  # fmt: skip
        assert shown in text


def test_declarations_that_hide_and_those_that_do_not() -> None:
    assert hides(declarations("visibility: hidden")) and hides(declarations("opacity:0"))
    assert hides(declarations("color: white")) and not hides(declarations("color: white"), background="#003078")
    assert not hides(declarations("color:#0b0c0c; font-size: 19px")) and not hides(declarations("left: -20px"))


def test_hidden_and_white_word_runs_are_not_read(tmp_path: Path) -> None:
    from docx import Document
    from docx.shared import RGBColor

    from ingest.loaders import load_bytes

    doc = Document()
    para = doc.add_paragraph("Staff book standard class rail travel.")
    para.add_run(" Hidden run.").font.hidden = True
    white = doc.add_paragraph().add_run("White run.")
    white.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
    path = tmp_path / "travel.docx"
    doc.save(str(path))
    text = load_bytes(path.read_bytes(), path).text
    assert "Staff book standard class rail travel." in text
    assert "Hidden run" not in text and "White run" not in text
