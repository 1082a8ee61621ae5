from __future__ import annotations

from app.control.sentences import heard_text, split_sentences


def test_sentences_are_split_and_abbreviations_kept() -> None:
    text = "Hello Mr. Smith. Your appointment is at 10 a.m. tomorrow! Shall I confirm it? Yes."
    assert split_sentences(text) == [
        "Hello Mr. Smith.",
        "Your appointment is at 10 a.m. tomorrow!",
        "Shall I confirm it?",
        "Yes.",
    ]


def test_a_long_first_sentence_gives_up_its_first_clause() -> None:
    text = "Thanks for calling, I have looked at the calendar and there are three free slots on Tuesday. Which?"
    pieces = split_sentences(text)
    assert pieces[0] == "Thanks for calling,"
    assert pieces[1].startswith("I have looked") and pieces[-1] == "Which?"


def test_blank_text_gives_nothing_and_whitespace_is_folded() -> None:
    assert split_sentences("   \n ") == []
    assert split_sentences("One.\n\nTwo.") == ["One.", "Two."]


def test_heard_text_keeps_the_share_of_words_played() -> None:
    assert heard_text("one two three four", 1000, 2000) == "one two"
    assert heard_text("one two three four", 2000, 2000) == "one two three four"
    assert heard_text("one two three four", 0, 2000) == ""
    assert heard_text("one two", None, 2000) == "one two"
