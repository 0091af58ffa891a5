"""Properties of split_agent_commands: commands only from the top block of an agent's reply,
and what looks like a command there but is none (`/foo`) reported, never sent on as text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.agent_mistakes import command_word
from gateway.commands import AgentAction
from gateway.parsing import split_agent_commands

COMMAND_WORDS = frozenset(action.value for action in AgentAction)
# Characters str.splitlines() breaks on besides "\n": kept out so lines are what the test built.
LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\n"
line_chars = st.characters(exclude_categories=("Cs",), exclude_characters=LINE_BREAKS)
lines = st.text(alphabet=line_chars, max_size=30)
padding = st.text(alphabet=" \t", max_size=3)


def is_command(line: str) -> bool:
    return line.strip().lower() in COMMAND_WORDS


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[str, AgentAction]:
    """A command as an agent may type it: any case, spaces around."""
    action = draw(st.sampled_from(list(AgentAction)))
    flips = draw(st.lists(st.booleans(), min_size=len(action.value), max_size=len(action.value)))
    word = "".join(ch.upper() if flip else ch for ch, flip in zip(action.value, flips, strict=True))
    return f"{draw(padding)}{word}{draw(padding)}", action


first_text_lines = lines.filter(lambda line: line.strip() != "" and not is_command(line))
bodies = st.tuples(first_text_lines, st.lists(lines, max_size=5)).map(
    lambda parts: "\n".join([parts[0], *parts[1]]))
top_blocks = st.lists(st.one_of(command_lines(), padding.map(lambda p: (p, None))), max_size=6)

SETTINGS = settings(max_examples=200, deadline=None)


@SETTINGS
@given(top=top_blocks, body=bodies)
def test_the_top_block_gives_the_commands_and_the_rest_is_the_text(
        top: list[tuple[str, AgentAction | None]], body: str) -> None:
    actions, text, _ = split_agent_commands("\n".join([*(line for line, _ in top), body]))
    assert actions == {action for _, action in top if action is not None}
    assert text == body.strip()


@SETTINGS
@given(first=first_text_lines, before=st.lists(lines, max_size=3), after=st.lists(lines, max_size=3),
       command=command_lines(), quote=st.sampled_from(["", ">", "> ", ">> "]))
def test_a_command_after_the_first_text_line_is_text(
        first: str, before: list[str], after: list[str], command: tuple[str, AgentAction],
        quote: str) -> None:
    line, _ = command
    actions, text, _ = split_agent_commands("\n".join([first, *before, quote + line, *after]))
    assert actions == frozenset()
    assert quote + line.rstrip() in text


@SETTINGS
@given(command=command_lines(), quote=st.sampled_from([">", "> ", ">> ", "| "]), body=bodies)
def test_a_quoted_command_at_the_top_is_not_a_command(
        command: tuple[str, AgentAction], quote: str, body: str) -> None:
    line, _ = command
    actions, text, stray = split_agent_commands(f"{quote}{line.strip()}\n{body}")
    assert (actions, stray) == (frozenset(), "")
    assert text.startswith(f"{quote}{line.strip()}")


@SETTINGS
@given(text=st.text(alphabet=line_chars | st.just("\n"), max_size=200))
def test_the_text_never_starts_with_a_command_and_splitting_again_changes_nothing(text: str) -> None:
    _, rest, stray = split_agent_commands(text)
    assert not rest or not is_command(rest.splitlines()[0])
    assert split_agent_commands(rest) == (frozenset(), rest, stray)


@SETTINGS
@given(text=st.text(alphabet=line_chars | st.just("\n"), max_size=200))
def test_text_whose_first_line_does_not_start_with_a_slash_has_no_commands(text: str) -> None:
    stripped = text.strip()
    if stripped.startswith("/"):
        text = "x" + text
        stripped = text.strip()
    actions, rest, stray = split_agent_commands(text)
    assert (actions, stray) == (frozenset(), "")
    assert rest == stripped


@SETTINGS
@given(top=st.lists(command_lines(), max_size=3),
       unknown=st.from_regex(r"/[a-zA-Z]{1,12}[.:!]?", fullmatch=True).filter(
           lambda w: w not in COMMAND_WORDS),
       later=st.lists(command_lines(), max_size=3), body=bodies)
def test_an_unknown_slash_word_ends_the_commands_and_is_reported_as_written(
        top: list[tuple[str, AgentAction]], unknown: str, later: list[tuple[str, AgentAction]],
        body: str) -> None:
    message = "\n".join([*(line for line, _ in top), unknown, *(line for line, _ in later), body])
    actions, text, stray = split_agent_commands(message)
    assert actions == {action for _, action in top}
    assert stray == unknown
    assert text.splitlines()[0] == unknown


@SETTINGS
@given(command=command_lines(), words=first_text_lines)
def test_a_command_with_text_on_its_line_is_reported_not_taken(
        command: tuple[str, AgentAction], words: str) -> None:
    line, _ = command
    actions, _, stray = split_agent_commands(f"{line} {words}")
    assert actions == frozenset()
    assert command_word(stray) == line.strip().lower()


@SETTINGS
@given(text=st.text(alphabet=line_chars | st.just("\n"), max_size=200))
def test_the_stray_word_is_the_texts_first_word_when_it_reads_as_a_command(text: str) -> None:
    _, rest, stray = split_agent_commands(text)
    first = rest.split(maxsplit=1)[0] if rest else ""
    assert stray == (first[:40] if command_word(first) else "")
    assert not stray or rest.startswith(stray)


@pytest.mark.parametrize(("token", "word"), [
    ("/foo", "/foo"), ("/Close.", "/close"), ("/FEEDBACK:", "/feedback"), ("/usr/bin", ""),
    ("/", ""), ("/2fa", ""), ("/naïve", ""), ("close", ""), ("//close", "")])
def test_what_reads_as_a_command_word(token: str, word: str) -> None:
    assert command_word(token) == word
