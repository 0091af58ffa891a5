"""Properties of split_agent_commands: commands only from the top block of an agent's reply."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

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
    actions, text = split_agent_commands("\n".join([*(line for line, _ in top), body]))
    assert actions == {action for _, action in top if action is not None}
    assert text == body.strip()


@SETTINGS
@given(first=first_text_lines, before=st.lists(lines, max_size=3), after=st.lists(lines, max_size=3),
       command=command_lines(), quote=st.sampled_from(["", ">", "> ", ">> "]))
def test_a_command_after_the_first_text_line_is_text(
        first: str, before: list[str], after: list[str], command: tuple[str, AgentAction],
        quote: str) -> None:
    line, _ = command
    actions, text = split_agent_commands("\n".join([first, *before, quote + line, *after]))
    assert actions == frozenset()
    assert quote + line.rstrip() in text


@SETTINGS
@given(command=command_lines(), quote=st.sampled_from([">", "> ", ">> ", "| "]), body=bodies)
def test_a_quoted_command_at_the_top_is_not_a_command(
        command: tuple[str, AgentAction], quote: str, body: str) -> None:
    line, _ = command
    actions, text = split_agent_commands(f"{quote}{line.strip()}\n{body}")
    assert actions == frozenset()
    assert text.startswith(f"{quote}{line.strip()}")


@SETTINGS
@given(text=st.text(alphabet=line_chars | st.just("\n"), max_size=200))
def test_the_text_never_starts_with_a_command_and_splitting_again_changes_nothing(text: str) -> None:
    _, rest = split_agent_commands(text)
    assert not rest or not is_command(rest.splitlines()[0])
    assert split_agent_commands(rest) == (frozenset(), rest)


@SETTINGS
@given(text=st.text(alphabet=line_chars | st.just("\n"), max_size=200))
def test_text_whose_first_line_does_not_start_with_a_slash_has_no_commands(text: str) -> None:
    stripped = text.strip()
    if stripped.startswith("/"):
        text = "x" + text
        stripped = text.strip()
    actions, rest = split_agent_commands(text)
    assert actions == frozenset()
    assert rest == stripped


@SETTINGS
@given(top=st.lists(command_lines(), max_size=3),
       unknown=st.from_regex(r"/[a-z]{1,12}", fullmatch=True).filter(lambda w: w not in COMMAND_WORDS),
       later=st.lists(command_lines(), min_size=1, max_size=3), body=bodies)
def test_an_unknown_slash_word_ends_the_commands_and_stays_in_the_text(
        top: list[tuple[str, AgentAction]], unknown: str, later: list[tuple[str, AgentAction]],
        body: str) -> None:
    """The API has no 'unknown command' report: `/foo` is the first line of the message."""
    message = "\n".join([*(line for line, _ in top), unknown, *(line for line, _ in later), body])
    actions, text = split_agent_commands(message)
    assert actions == {action for _, action in top}
    assert text.splitlines()[0] == unknown
    assert len(text.splitlines()) == len(later) + 1 + len(body.strip().splitlines())
