"""Is a member's reply only thanks? `Thanks!`, `Dank je wel 🙏`, `Mange tak.` (CONTRACT §10).

Words are compared folded (`gateway.languages.fold`: no case, no accents). A reply is only
thanks when it has at most five words, every word belongs to a thank-you phrase or to the
few words that go with one (`very much`, `again`, a greeting, a sign-off, the member's own
name; `help` only after one of those, as in `for the help`, so `Help! Thanks` is a plea),
and at least one thank-you phrase is there. A plain scan, no regex.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.languages import fold

MAX_WORDS = 5
MAX_CHARS = 200  # longer than five words can be: not looked at
THANKS_MARKS = frozenset("🙏👍👌❤♥")  # these alone say thanks too

# Per configured language (config/gateway.toml): thank-you phrases, the words around them,
# and the words for the help (said after one of those).
_TABLE: dict[str, tuple[str, str, str]] = {
    "en": ("thanks|thank you|thank u|thx|cheers|many thanks|much appreciated|appreciated",
           "you|very|much|so|a|lot|again|all|for|the|your|great|ok|okay|hi|hello|best|regards|"
           "kind|sir|madam|team|guys|and|really|many|everything|that|works|now",
           "help|helping"),
    "nl": ("bedankt|dank|dank je|dank u|dankjewel|dankuwel|hartelijk dank|thanks|merci",
           "je|u|wel|zeer|heel|erg|hartelijk|hartelijke|voor|de|alvast|nogmaals|top|super|groet|"
           "groeten|mvg|hoi|hallo|beste|jullie|allemaal",
           "hulp"),
    "da": ("tak|mange tak|tusind tak|tak skal du have",
           "for|igen|skal|du|have|mange|tusind|hej|venlig|hilsen|mvh|jer|alle|så|meget",
           "hjaelpen|hjælpen"),
    "fr": ("merci|je vous remercie|remerciements",
           "beaucoup|bien|mille|fois|encore|pour|votre|ton|tout|a|vous|bonjour|cordialement|"
           "bonne|journee|journée|infiniment|d|avance|l|bcp",
           "aide"),
    "cs": ("děkuji|děkuju|díky|dík|dekuji|diky",
           "moc|mnohokrát|mnohokrat|vám|vam|za|ještě|jeste|jednou|krásně|pěkně|s|pozdravem|dobrý|"
           "den|zdravím|všem",
           "pomoc"),
    "fi": ("kiitos|kiitoksia|kiitti|kiitokset|kiitos paljon",
           "paljon|suuret|tuhannet|vielä|avusta|teille|sinulle|hei|terveisin|ystävällisin|"
           "terveisin|kaikille|oikein",
           ""),
    "de": ("danke|dankeschön|vielen dank|herzlichen dank|besten dank|danke schön",
           "schön|schoen|sehr|vielen|herzlichen|besten|für|fuer|die|ihre|eure|nochmals|hallo|"
           "gruß|gruss|grüße|gruesse|mfg|viele|lieben|euch|ihnen|im|voraus|mal",
           "hilfe"),
    "es": ("gracias|muchas gracias|mil gracias",
           "muchas|muchísimas|muchisimas|mil|por|la|su|tu|todo|de|nuevo|hola|saludos|un|saludo|"
           "otra|vez",
           "ayuda"),
    "it": ("grazie|grazie mille|ti ringrazio|vi ringrazio|la ringrazio",
           "mille|tante|molte|infinite|per|l|tutto|ancora|ciao|salve|saluti|cordiali",
           "aiuto"),
    "pt": ("obrigado|obrigada|muito obrigado|muito obrigada|valeu|agradeço|agradeco",
           "muito|muitíssimo|pela|por|tudo|mais|uma|vez|olá|ola|cumprimentos|abraço",
           "ajuda"),
    "sv": ("tack|tack så mycket|tusen tack|stort tack|tackar",
           "så|mycket|tusen|stort|för|igen|hej|hälsningar|mvh|vänliga|allt",
           "hjälpen"),
    "nb": ("takk|tusen takk|mange takk|takk skal du ha",
           "for|igjen|tusen|mange|skal|du|ha|hei|hilsen|mvh|vennlig|alt|så|mye",
           "hjelpen"),
    "pl": ("dziękuję|dziekuje|dzięki|dzieki|dziękujemy|dziekujemy",
           "bardzo|serdecznie|za|jeszcze|raz|wszystko|pozdrawiam|dzień|dobry|wielkie",
           "pomoc"),
    "hu": ("köszönöm|koszonom|köszi|koszi|köszönjük|koszonjuk|kösz",
           "szépen|szepen|nagyon|a|még|egyszer|üdvözlettel|szia|mindent",
           "segítséget|segitseget"),
    "ro": ("mulțumesc|multumesc|mersi|mulțumim|multumim",
           "mult|frumos|foarte|pentru|tot|încă|inca|o|dată|data|salut|cu|stimă|bine",
           "ajutor"),
    "el": ("ευχαριστώ|ευχαριστούμε|ευχαριστω|efxaristo|efharisto",
           "πολύ|πολυ|για|τη|και|πάλι|παλι|γεια|σας|χαιρετισμούς",
           "βοήθεια|βοηθεια"),
    "bg": ("благодаря|мерси|благодарим",
           "много|ви|за|отново|здравейте|поздрави|всичко|сърдечно",
           "помощта"),
    "hr": ("hvala|zahvaljujem",
           "puno|lijepa|vam|na|još|jos|jednom|pozdrav|lijep|velika|svima",
           "pomoći|pomoci"),
    "sr": ("hvala|хвала|zahvaljujem|захваљујем",
           "puno|пуно|vam|вам|na|на|još|још|jednom|једном|pozdrav|поздрав|velika|велико|veliko",
           "pomoći|помоћи|pomoci"),
    "sk": ("ďakujem|dakujem|ďakujeme|dakujeme|vďaka|vdaka",
           "veľmi|velmi|pekne|za|ešte|este|raz|s|pozdravom|dobrý|deň|mnohokrát",
           "pomoc"),
    "sl": ("hvala|najlepša hvala|zahvaljujem",
           "lepa|najlepša|najlepsa|za|še|se|enkrat|lep|pozdrav|vam|res|velika",
           "pomoč|pomoc"),
    "et": ("aitäh|aitah|tänan|tanan|tänud|tanud",
           "väga|vaga|suur|abi|eest|teid|veelkord|tere|lugupidamisega",
           ""),
    "lv": ("paldies|liels paldies",
           "liels|ļoti|loti|par|vēlreiz|velreiz|sveiki|ar|cieņu",
           "palīdzību|palidzibu"),
    "lt": ("ačiū|aciu|dėkoju|dekoju|dėkui|dekui",
           "labai|už|uz|dar|kartą|karta|sveiki|pagarbiai|didelis",
           "pagalbą|pagalba"),
    "is": ("takk|takk fyrir|þakka þér|þakka",
           "fyrir|kærlega|kaerlega|aftur|þér|ther|bestu|kveðjur|kvedjur|hæ|mikið",
           "hjálpina"),
    "ga": ("go raibh maith agat|go raibh maith agaibh|grma|míle buíochas|buíochas",
           "míle|mile|as|an|arís|aris|dia|duit|le|meas",
           "gcabhair"),
    "mt": ("grazzi|nirringrazzjak|nirringrazzjakom",
           "ħafna|hafna|tal|mill|ġdid|gdid|bongu|saħħa|sahha",
           "għajnuna|ghajnuna"),
    "ca": ("gràcies|gracies|moltes gràcies|merci|mercès|merces",
           "moltes|moltíssimes|per|l|tot|de|nou|hola|salutacions|cordialment",
           "ajuda"),
    "uk": ("дякую|дякуємо|спасибі|щиро дякую",
           "дуже|щиро|вам|за|ще|раз|вітаю|привіт|з|повагою|велике",
           "допомогу"),
    "ru": ("спасибо|благодарю|большое спасибо|спс",
           "большое|огромное|вам|за|еще|ещё|раз|здравствуйте|привет|с|уважением|всё|все|очень",
           "помощь"),
    "tr": ("teşekkürler|tesekkurler|teşekkür ederim|tesekkur ederim|sağol|sagol|sağolun|sagolun|"
           "eyvallah",
           "çok|cok|yardımınız|yardiminiz|için|icin|tekrar|merhaba|saygılarımla|saygilarimla|"
           "ederim|ederiz|her|şey|sey",
           ""),
    "lb": ("merci|merci villmools|villmools merci|danke",
           "villmools|vill|mol|fir|d|nach|eng|kéier|keier|moien|gréiss|greiss",
           "hëllef|hellef"),
}


def _phrases(column: int) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(fold(phrase).split()) for columns in _TABLE.values()
                     for phrase in columns[column].split("|") if phrase)


LANGUAGES = frozenset(_TABLE)
THANKS = _phrases(0)
AROUND = frozenset(word for (word,) in _phrases(1))
HELP = frozenset(word for (word,) in _phrases(2))
LONGEST = max(len(phrase) for phrase in THANKS)


def is_only_thanks(text: str, names: Iterable[str] = ()) -> bool:
    """Whether `text` (quotes and signature stripped) only thanks; `names` (the member's own
    name) may sign it."""
    if len(text) > MAX_CHARS:
        return False
    words, marks = _words(text)
    if len(words) > MAX_WORDS:
        return False
    signed = AROUND | {fold(part) for name in names for part in name.split()}
    return _covered(words, signed) or (not words and bool(marks))


def _words(text: str) -> tuple[list[str], bool]:
    """The folded words of `text` (letters and digits; punctuation and emoji split them), and
    whether a thanks mark (🙏, 👍) is among the rest."""
    words: list[str] = []
    current: list[str] = []
    marks = False
    for char in fold(text):
        if char.isalnum():
            current.append(char)
            continue
        marks = marks or char in THANKS_MARKS
        if current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words, marks


def _covered(words: list[str], around: frozenset[str]) -> bool:
    """Whether the words split into thank-you phrases, words around them and the help after
    one of those, with at least one phrase. reached[i] holds the ways to cover i words:
    (a phrase among them, the last word was one around)."""
    reached: list[set[tuple[bool, bool]]] = [set() for _ in range(len(words) + 1)]
    reached[0].add((False, False))
    for start, states in enumerate(reached[:-1]):
        word = words[start]
        for thanked, after_around in states:
            if word in around:
                reached[start + 1].add((thanked, True))
            if word in HELP and after_around:
                reached[start + 1].add((thanked, False))
            for size in range(1, min(LONGEST, len(words) - start) + 1):
                if tuple(words[start:start + size]) in THANKS:
                    reached[start + size].add((True, False))
    return any(thanked for thanked, _ in reached[-1])
