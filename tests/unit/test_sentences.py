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
    text = (
        "Thanks for calling, I have looked at the calendar and there are three free slots on Tuesday. Which?"
    )
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


def test_a_first_sentence_of_more_than_eight_words_gives_up_its_first_clause() -> None:
    assert split_sentences("All right, I will let the office know you cannot make it. Goodbye.") == [
        "All right,",
        "I will let the office know you cannot make it.",
        "Goodbye.",
    ]


def test_short_first_sentences_and_one_word_clauses_stay_whole() -> None:
    assert split_sentences("Sure, let me check the calendar.") == ["Sure, let me check the calendar."]
    text = "Okay, what name should I put the appointment under today?"
    assert split_sentences(text) == [text]  # "Okay," alone would be too short to be worth a piece
    no_break = "I can book that for you on Tuesday afternoon next week."
    assert split_sentences(no_break) == [no_break]


def test_the_cut_skips_a_one_word_clause() -> None:
    assert split_sentences("Thanks, Maria, your appointment is confirmed for Tuesday at three.") == [
        "Thanks, Maria,",
        "your appointment is confirmed for Tuesday at three.",
    ]


def test_only_the_first_sentence_is_cut() -> None:
    second = "I will let the office know, and they will call you back tomorrow."
    assert split_sentences(f"Thanks. {second}") == ["Thanks.", second]
