"""What only thanks is (CONTRACT §10 "Closed tickets"), in every title language."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gateway.thanks import LANGUAGES, is_only_thanks

GATEWAY_TOML = Path(__file__).resolve().parents[2] / "config" / "gateway.toml"

THANKS = [
    "thanks", "Thanks!", "Thank you very much 🙏", "thx", "Many thanks, Alice", "Thanks again!",
    "Thank you for your help.", "ok thanks 👍", "Cheers",  # en
    "Thanks for helping", "Bedankt voor de hulp!", "Danke für Ihre Hilfe", "Kiitos avusta!",
    "Gracias por su ayuda", "Dziękuję za pomoc", "Aitäh abi eest", "Tak for hjælpen",
    "Bedankt!", "dank je", "Dank je wel!", "Dank u wel.", "Hartelijk dank", "Top, bedankt!",  # nl
    "Tak", "Mange tak!", "Tusind tak for hjælpen",  # da
    "merci", "Merci beaucoup !", "Merci bien", "Je vous remercie.",  # fr
    "děkuji", "Děkuji moc!", "Díky", "dekuji",  # cs
    "kiitos", "Kiitos paljon!", "Kiitti",  # fi
    "danke", "Danke schön!", "Vielen Dank", "Herzlichen Dank für Ihre Hilfe",  # de
    "gracias", "¡Muchas gracias!", "Mil gracias",  # es
    "Grazie mille!",  # it
    "Muito obrigado",  # pt
    "Tack så mycket!",  # sv
    "Tusen takk",  # nb
    "Dziękuję bardzo",  # pl
    "Köszönöm szépen",  # hu
    "Mulțumesc frumos",  # ro
    "Ευχαριστώ πολύ",  # el
    "Много благодаря",  # bg
    "Hvala lijepa",  # hr
    "Хвала пуно", "hvala",  # sr
    "Ďakujem pekne",  # sk
    "Najlepša hvala",  # sl
    "Aitäh",  # et
    "Liels paldies",  # lv
    "Labai ačiū",  # lt
    "Takk fyrir",  # is
    "Go raibh maith agat",  # ga
    "Grazzi ħafna",  # mt
    "Moltes gràcies",  # ca
    "Щиро дякую",  # uk
    "Спасибо большое!",  # ru
    "Çok teşekkürler",  # tr
    "Merci villmools",  # lb
    "🙏", "👍👍",
]

NOT_THANKS = [
    "Thanks, but it is broken again.",
    "No thanks",
    "thanks thanks thanks thanks thanks thanks",  # six words
    "Thanks. The printer on floor 2 still fails.",
    "Help! Thanks",
    "Thanks, help",
    "Hilfe, danke",
    "¡Ayuda! Gracias",
    "Dank je, maar het werkt nog steeds niet",
    "Merci, mais le problème revient",
    "Danke, aber jetzt geht gar nichts mehr",
    "Kiitos, mutta ongelma jatkuu",
    "Thanks 5",
    "It works",
    "you",
    "5",
    "",
    "🙂 ?",
    "Thanks! " + "x" * 300,
]


@pytest.mark.parametrize("text", THANKS)
def test_only_thanks(text: str) -> None:
    assert is_only_thanks(text, ["Alice"])


@pytest.mark.parametrize("text", NOT_THANKS)
def test_anything_more_than_thanks(text: str) -> None:
    assert not is_only_thanks(text, ["Alice"])


def test_the_member_may_sign_with_their_name() -> None:
    assert is_only_thanks("Thanks,\nAnna de Vries", ["Anna de Vries"])
    assert not is_only_thanks("Thanks,\nAnna de Vries", ["Bob"])


def test_every_title_language_has_its_thanks() -> None:
    with GATEWAY_TOML.open("rb") as handle:
        configured = {language["code"] for language in tomllib.load(handle)["policy"]["languages"]}
    assert len(configured) == 32
    assert configured <= LANGUAGES


def test_a_long_text_is_read_once() -> None:
    assert not is_only_thanks("thanks " * 100_000)
