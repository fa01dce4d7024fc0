"""``policyrag chat``: a conversation in the terminal, follow-ups included.

History is kept between turns (so "And who paid for it?" is read with the question before it),
answers are streamed as they are verified, and a few slash commands do what the chat UI's buttons do.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rag.answer.model import Answer, AnswerError, Mode
from rag.answer.pipeline import AnswerPipeline
from rag.export import render_markdown, to_docx, to_markdown
from rag.llm.chat import LLMError

HELP = """Ask a question, or:
  /mode [auto|howto|precedent|explain]   show or set the answer style (auto: chosen per question)
  /sources                               the last answer's references, with every quote
  /export FILE.md | FILE.docx            write the conversation as a briefing note
  /new                                   start a new conversation (forget the history)
  /help                                  this text
  Ctrl-D or /quit                        leave"""


@dataclass
class ChatSession:
    """One conversation: its history, its style, and what it has answered (for /sources and /export)."""

    pipeline: AnswerPipeline
    mode: Mode = Mode.auto
    history: list[dict[str, str]] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)

    def ask(self, question: str, write: Callable[[str], None]) -> Answer:
        """Stream the verified answer through ``write`` and remember the turn."""
        answer: Answer | None = None
        for event in self.pipeline.stream(question, history=self.history, mode=self.mode):
            if event.event == "delta":
                write(event.text)
            elif event.event == "answer":
                answer = event.answer
        assert answer is not None, "the answer stream ends with the answer"
        self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
        self.turns.append({"question": question, "answer": answer.model_dump(mode="json")})
        return answer

    def command(self, line: str) -> str:
        """Run a slash command; its output (an error reads as one line starting 'error:')."""
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if name == "help":
            return HELP
        if name == "new":
            self.history, self.turns = [], []
            return "new conversation: the history is cleared"
        if name == "mode":
            if arg:
                try:
                    self.mode = Mode(arg)
                except ValueError:
                    return f"error: the mode must be one of {', '.join(m.value for m in Mode)}"
            return f"mode: {self.mode.value}"
        if name == "sources":
            if not self.turns or self.turns[-1]["answer"]["refused"]:
                return "no sources: nothing has been answered yet" if not self.turns else "no sources: refused"
            full = render_markdown(Answer.model_validate(self.turns[-1]["answer"]))
            return full[full.index("References") :] if "References" in full else full
        if name == "export":
            return self._export(Path(arg)) if arg else "error: /export needs a file name ending .md or .docx"
        return f"error: unknown command /{name} (try /help)"

    def _export(self, path: Path) -> str:
        if not self.turns:
            return "error: nothing to export yet"
        suffix = path.suffix.lower()
        if suffix not in {".md", ".docx"}:
            return "error: /export writes .md or .docx files"
        try:
            if suffix == ".md":
                path.write_text(to_markdown(self.turns), encoding="utf-8")
            else:
                path.write_bytes(to_docx(self.turns))
        except OSError as exc:
            return f"error: cannot write {path}: {exc.strerror or exc}"
        return f"wrote {len(self.turns)} turn(s) to {path}"


def run(session: ChatSession, read: Callable[[str], str] = input, out: TextIO = sys.stdout) -> None:
    """The read-answer loop until Ctrl-D or /quit."""

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    write("policyrag chat: answers from the library, every sentence cited. /help for commands, Ctrl-D to leave.\n")
    while True:
        try:
            line = read("\nyou> ").strip()
        except (EOFError, KeyboardInterrupt):
            write("\n")
            return
        if not line:
            continue
        if line in {"/quit", "/exit"}:
            return
        if line.startswith("/"):
            write(session.command(line) + "\n")
            continue
        write("\npolicyrag> ")
        try:
            answer = session.ask(line, write)
        except (AnswerError, LLMError) as exc:
            write(f"error: {exc}\n")
            continue
        sources = len(answer.references)
        tail = "refused" if answer.refused else f"{sources} source{'s' * (sources != 1)} (/sources to see them)"
        write(f"\n[{answer.mode.value} · {tail}]\n")
