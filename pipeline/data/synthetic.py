"""The embedded default corpus: seeded synthetic children's stories and GLUE-style tasks.

Stories have recurring characters, objects, places and feelings, and cause and effect (a problem
makes a character feel something, a helper resolves it, the feeling changes). The slots combine into
far more stories than are drawn, so validation stories are new text rather than copies of training
stories (the data stage measures and reports the overlap). The three GLUE analogues come from the
same vocabulary and grammar:

* paraphrase (MRPC-like): the same event told two ways (label 1) vs. a near miss that changes one
  participant, object or place (label 0); scored by F1.
* sentiment (SST-2-like): sentences whose polarity comes from a predicate and may be flipped by a
  negation ("was not happy"); scored by accuracy.
* acceptability (CoLA-like): well-formed sentences (label 1) vs. corrupted ones (swapped words,
  dropped verb, broken agreement, doubled word; label 0); scored by Matthews correlation.

Everything is a pure function of the seed: the same seed gives the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

NAMES = {
    "she": ["Lily", "Mia", "Sara", "Anna", "Zoe", "Ella", "Lucy", "Nora", "Ruby", "Ivy", "Rosa", "Kim"],
    "he": ["Tom", "Ben", "Max", "Leo", "Sam", "Jack", "Tim", "Finn", "Joe", "Dan", "Ned", "Kai"],
}
KINDS = ["girl", "boy", "cat", "dog", "bunny", "bear", "duck", "fox", "bird", "frog", "mouse", "pig"]
TRAITS = ["little", "kind", "curious", "brave", "shy", "happy", "silly", "clever", "gentle", "busy"]
PLACES = ["park", "garden", "beach", "forest", "kitchen", "school", "farm", "river", "hill", "library",
          "pond", "yard", "zoo", "meadow", "market"]
OBJECTS = ["ball", "kite", "boat", "book", "hat", "cake", "flower", "drum", "box", "puzzle", "shell",
           "blanket", "toy car", "cup", "balloon", "crayon", "sock", "apple", "bell", "map"]
COLOURS = ["red", "blue", "green", "yellow", "big", "small", "shiny", "soft", "old", "new", "pink", "tiny"]
HELPERS = ["mom", "dad", "grandma", "grandpa", "a wise owl", "a friendly dog", "the teacher", "a big bear",
           "an old turtle", "a little bird"]
GOOD_FEELINGS = ["happy", "glad", "proud", "excited", "calm", "thankful"]
BAD_FEELINGS = ["sad", "scared", "angry", "upset", "worried", "lonely"]
ACTIVITIES = ["play with", "look at", "share", "paint", "carry", "show everyone"]
LESSONS = ["sharing is good", "it is good to ask for help", "friends help each other",
           "being patient pays off", "it is okay to feel {bad} sometimes", "kindness makes everyone {good}"]


@dataclass(frozen=True)
class Character:
    name: str
    pronoun: str  # "she" or "he"
    kind: str
    trait: str

    @property
    def possessive(self) -> str:
        return "her" if self.pronoun == "she" else "his"

    @property
    def object_pronoun(self) -> str:
        return "her" if self.pronoun == "she" else "him"


def _character(rng: random.Random) -> Character:
    pronoun = rng.choice(["she", "he"])
    kind = rng.choice(KINDS)
    if kind in ("girl", "boy"):
        kind = "girl" if pronoun == "she" else "boy"
    return Character(rng.choice(NAMES[pronoun]), pronoun, kind, rng.choice(TRAITS))


def _a(phrase: str) -> str:
    """The phrase with its indefinite article ("a red ball", "an old cup")."""
    return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"


def _problem(rng: random.Random, hero: Character, thing: str, place: str) -> tuple[str, str, str]:
    """A cause (something goes wrong), its effect on the hero as a sentence, and the feeling."""
    p, pos = hero.pronoun.capitalize(), hero.possessive
    causes = [
        (f"Then the wind blew hard and took the {thing} away.", "lost"),
        (f"But {hero.name} dropped the {thing} and it broke.", "broken"),
        (f"Suddenly it started to rain on the {place}.", "rain"),
        (f"A big dog ran by and grabbed the {thing}.", "taken"),
        (f"{p} could not find {pos} {thing} anywhere.", "lost"),
        (f"The {thing} fell into a deep hole.", "lost"),
    ]
    cause, kind = rng.choice(causes)
    bad = rng.choice(BAD_FEELINGS)
    because = {"lost": f"because {hero.pronoun} missed the {thing}",
               "broken": f"because the {thing} was broken",
               "rain": "because {0} did not want to get wet".format(hero.pronoun),
               "taken": f"because the dog had {pos} {thing}"}[kind]
    return cause, f"{hero.name} felt {bad} {because}.", bad


def _resolution(rng: random.Random, hero: Character, thing: str, helper: str) -> str:
    options = [
        f"Then {helper} came and helped {hero.object_pronoun} get the {thing} back.",
        f"Luckily, {helper} knew what to do and fixed the {thing}.",
        f"{helper.capitalize()} said, \"Do not worry, we can find it together.\"",
        f"Soon {helper} brought {_a('new ' + thing)} for {hero.object_pronoun}.",
    ]
    return rng.choice(options)


def generate_story(rng: random.Random) -> str:
    """One story of 6-9 sentences; the same ``rng`` state gives the same story."""
    hero, friend = _character(rng), _character(rng)
    while friend.name == hero.name:
        friend = _character(rng)
    place, thing, colour = rng.choice(PLACES), rng.choice(OBJECTS), rng.choice(COLOURS)
    helper, good = rng.choice(HELPERS), rng.choice(GOOD_FEELINGS)
    openings = [
        f"Once upon a time, there was {_a(hero.trait)} {hero.kind} named {hero.name}.",
        f"One day, {_a(hero.trait)} {hero.kind} named {hero.name} went to the {place}.",
        f"{hero.name} was {_a(hero.trait)} {hero.kind} who lived near the {place}.",
    ]
    sentences = [rng.choice(openings)]
    sentences.append(rng.choice([
        f"{hero.pronoun.capitalize()} had {_a(colour)} {thing} that {hero.pronoun} loved very much.",
        f"{hero.name} found {_a(colour)} {thing} at the {place}.",
        f"{hero.pronoun.capitalize()} wanted to {rng.choice(ACTIVITIES)} {_a(colour)} {thing}.",
    ]))
    if rng.random() < 0.6:
        sentences.append(f"{hero.pronoun.capitalize()} went to the {place} with {hero.possessive} friend "
                         f"{friend.name}, {_a(friend.trait)} {friend.kind}.")
    cause, effect, bad = _problem(rng, hero, thing, place)
    sentences += [cause, effect]
    if rng.random() < 0.5:
        sentences.append(f"{friend.name} saw that {hero.name} was {bad} and said, \"Let us ask {helper}.\"")
    sentences.append(_resolution(rng, hero, thing, helper))
    sentences.append(rng.choice([
        f"{hero.name} felt {good} again and said thank you.",
        f"Now {hero.name} was {good}, and {hero.pronoun} played at the {place} all day.",
        f"{hero.name} and {friend.name} smiled and felt {good}.",
    ]))
    if rng.random() < 0.5:
        lesson = rng.choice(LESSONS).format(good=good, bad=bad)
        sentences.append(f"That day, {hero.name} learned that {lesson}.")
    return " ".join(sentences)


def generate_corpus(seed: int, n_train: int, n_val: int) -> tuple[list[str], list[str]]:
    """Train and validation stories; validation stories never repeat a training story verbatim."""
    rng = random.Random(seed)
    train = [generate_story(rng) for _ in range(n_train)]
    seen = set(train)
    val: list[str] = []
    attempts = 0
    while len(val) < n_val:
        story = generate_story(rng)
        attempts += 1
        if attempts > 50 * n_val:
            raise RuntimeError("the synthetic grammar cannot produce enough distinct validation stories")
        if story not in seen:
            seen.add(story)
            val.append(story)
    return train, val


# ---- GLUE-style tasks ------------------------------------------------------------------------------

def _event(rng: random.Random) -> dict:
    hero = _character(rng)
    return {"hero": hero, "thing": rng.choice(OBJECTS), "place": rng.choice(PLACES),
            "colour": rng.choice(COLOURS), "other": rng.choice(NAMES[rng.choice(["she", "he"])])}


# Each frame renders the same event in several wordings; a paraphrase uses two different wordings.
_FRAMES = [
    ["{n} found the {c} {t} at the {p}.", "At the {p}, {n} discovered the {c} {t}.",
     "The {c} {t} was found by {n} at the {p}."],
    ["{n} gave the {c} {t} to {o} at the {p}.", "At the {p}, {o} got the {c} {t} from {n}.",
     "{o} received the {c} {t} from {n} at the {p}."],
    ["{n} lost the {c} {t} near the {p}.", "Near the {p}, {n} could not find the {c} {t} anymore.",
     "The {c} {t} of {n} went missing near the {p}."],
    ["{n} and {o} played with the {c} {t} in the {p}.", "In the {p}, {o} and {n} had fun with the {c} {t}.",
     "The {c} {t} kept {n} and {o} busy in the {p}."],
]


def _render(frame: int, wording: int, ev: dict) -> str:
    return _FRAMES[frame][wording].format(n=ev["hero"].name, o=ev["other"], t=ev["thing"], c=ev["colour"],
                                          p=ev["place"])


def paraphrase_example(rng: random.Random) -> tuple[str, str, int]:
    ev = _event(rng)
    while ev["other"] == ev["hero"].name:
        ev = _event(rng)
    frame = rng.randrange(len(_FRAMES))
    first, second = rng.sample(range(len(_FRAMES[frame])), 2)
    if rng.random() < 0.66:  # MRPC is about two-thirds positive
        return _render(frame, first, ev), _render(frame, second, ev), 1
    changed = dict(ev)
    slot = rng.choice(["thing", "place", "colour", "swap"])
    if slot == "swap":  # who gave to whom is reversed: same words, different meaning
        changed["hero"] = Character(ev["other"], "she", "girl", "kind")
        changed["other"] = ev["hero"].name
    else:
        pool = {"thing": OBJECTS, "place": PLACES, "colour": COLOURS}[slot]
        changed[slot] = rng.choice([x for x in pool if x != ev[slot]])
    return _render(frame, first, ev), _render(frame, second, changed), 0


_POSITIVE = ["loved the {c} {t}", "was happy at the {p}", "had a great day at the {p}", "liked the {c} {t}",
             "was proud of the {t}", "enjoyed playing at the {p}", "thought the {t} was wonderful"]
_NEGATIVE = ["hated the {c} {t}", "was sad at the {p}", "had a terrible day at the {p}", "disliked the {c} {t}",
             "was angry about the {t}", "was bored at the {p}", "thought the {t} was awful"]
_NEGATED = {"loved": "did not love", "was": "was not", "had": "did not have", "liked": "did not like",
            "hated": "did not hate", "disliked": "did not dislike", "enjoyed": "did not enjoy",
            "thought": "did not think"}


def sentiment_example(rng: random.Random) -> tuple[str, None, int]:
    ev = _event(rng)
    positive = rng.random() < 0.55
    predicate = rng.choice(_POSITIVE if positive else _NEGATIVE)
    if rng.random() < 0.35:  # negation flips polarity
        verb, rest = predicate.split(" ", 1)
        predicate = f"{_NEGATED[verb]} {rest}"
        positive = not positive
    text = f"{ev['hero'].name} {predicate.format(c=ev['colour'], t=ev['thing'], p=ev['place'])}."
    return text, None, int(positive)


def _grammatical(rng: random.Random) -> str:
    ev = _event(rng)
    hero = ev["hero"]
    templates = [
        f"{hero.name} {rng.choice(['found', 'lost', 'carried', 'painted'])} the {ev['colour']} {ev['thing']}.",
        f"The {hero.kind} is playing in the {ev['place']}.",
        f"{hero.name} and {ev['other']} are walking to the {ev['place']}.",
        f"{hero.pronoun.capitalize()} gave {hero.possessive} {ev['thing']} to {ev['other']}.",
        f"The {ev['colour']} {ev['thing']} was on the table.",
        f"They were happy because the {ev['thing']} was {ev['colour']}.",
    ]
    return rng.choice(templates)


def _corrupt(rng: random.Random, sentence: str) -> str:
    words = sentence[:-1].split(" ")
    kind = rng.choice(["swap", "agreement", "drop", "double"])
    if kind == "agreement":
        for good, bad in (("are", "is"), ("is", "are"), ("were", "was"), ("was", "were")):
            if good in words:
                words[words.index(good)] = bad
                return " ".join(words) + "."
        kind = "swap"
    if kind == "drop" and len(words) > 3:
        del words[rng.randrange(1, len(words) - 1)]
    elif kind == "double":
        i = rng.randrange(len(words))
        words.insert(i, words[i])
    else:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words) + "."


def acceptability_example(rng: random.Random) -> tuple[str, None, int]:
    sentence = _grammatical(rng)
    if rng.random() < 0.7:  # CoLA is about 70% acceptable
        return sentence, None, 1
    corrupted = _corrupt(rng, sentence)
    # A swap of two equal words would leave the sentence unchanged: that example stays acceptable.
    return corrupted, None, int(corrupted == sentence)


GLUE_GENERATORS = {"mrpc": paraphrase_example, "sst2": sentiment_example, "cola": acceptability_example}


def generate_glue_task(task: str, seed: int, n_train: int, n_dev: int) -> dict[str, list[tuple]]:
    """``{"train": [...], "dev": [...]}`` of (sentence1, sentence2 or None, label) tuples; dev
    examples never repeat a training example's text."""
    rng = random.Random(f"{seed}-{task}")
    make = GLUE_GENERATORS[task]
    train = [make(rng) for _ in range(n_train)]
    seen = {(a, b) for a, b, _ in train}
    dev: list[tuple] = []
    for _ in range(100 * n_dev):
        if len(dev) == n_dev:
            break
        example = make(rng)
        if (example[0], example[1]) not in seen:
            seen.add((example[0], example[1]))
            dev.append(example)
    if len(dev) < n_dev:
        raise RuntimeError(f"the synthetic {task} generator cannot produce {n_dev} distinct dev examples")
    return {"train": train, "dev": dev}
