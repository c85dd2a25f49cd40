"""Colours of the prompt and of the highlighted line (prompt_toolkit style rules; the
`pygments.*` classes are the tokens of repl/lexer.py). No imports: the first prompt is drawn
with this style before pygments is loaded."""

# readable on a dark or a light terminal background
STYLE = {
    "pygments.keyword.namespace": "bold ansicyan",
    "pygments.keyword": "ansibrightblue",
    "pygments.keyword.pseudo": "ansibrightblue italic",
    "pygments.keyword.constant": "ansimagenta",
    "pygments.name.namespace": "ansicyan",
    "pygments.name.class": "ansigreen",
    "pygments.name.attribute": "ansiyellow",
    "pygments.name.builtin": "ansimagenta",
    "pygments.name.tag": "ansibrightblack",
    "pygments.string": "",
    "pygments.string.double": "ansibrightgreen",
    "pygments.string.other": "underline",
    "pygments.string.backtick": "ansibrightmagenta",
    "pygments.number": "ansibrightcyan",
    "pygments.operator": "bold",
    "pygments.punctuation": "bold",
    "pygments.comment": "ansibrightblack italic",
    "pygments.error": "ansired",
    "prompt.star": "bold ansiyellow",
    "prompt": "",
}
