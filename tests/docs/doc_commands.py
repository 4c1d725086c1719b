"""The shell commands the README and docs/*.md show: every line of an indented code block
or of a fenced block marked bash, sh or nothing, with backslash continuations joined; lines
starting with '#' are shown output or comments, not commands.  In a block marked console
only the lines starting with '$ ' are commands (the rest is their output).  Diagrams, file
contents and other text go in fenced blocks marked text, pbtxt, json, yaml, ..."""
import os
import re

SHELL_FENCES = {"", "bash", "sh", "shell", "console"}


def blocks(text):
    """(first line number, [lines]) of each code block of a Markdown text: fenced blocks, and
    indented ones (4 spaces more than the text they sit in, a list item's included)."""
    lines = text.split("\n")
    i, list_indent = 0, None
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(\s*)```(\w*)\s*$", line)
        if fence:
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
                body.append(lines[i][len(fence.group(1)):])
                i += 1
            if fence.group(2) == "console":
                body = [line[2:] if line.startswith("$ ") else "# " + line for line in body]
            if fence.group(2) in SHELL_FENCES | {"console"}:
                yield start + 1, body
            i += 1
            continue
        indent = " " * ((list_indent or 0) + 4)
        previous_blank = i == 0 or lines[i - 1].strip() == ""
        if line.startswith(indent) and previous_blank:
            start, body = i, []
            while i < len(lines) and (lines[i].startswith(indent) or
                                      (lines[i].strip() == "" and i + 1 < len(lines) and lines[i + 1].startswith(indent))):
                body.append(lines[i][len(indent):])
                i += 1
            yield start + 1, body
            continue
        if line.strip():
            item = re.match(r"^(\s*)([-*+]|\d+\.)\s+", line)
            if item:
                list_indent = len(item.group(0))
            elif list_indent is not None and not line.startswith(" " * list_indent):
                list_indent = None
        i += 1


def commands(path):
    """(line number, command) of every command in the Markdown file PATH."""
    with open(path) as f:
        text = f.read()
    for first, body in blocks(text):
        pending, pending_line = "", None
        for offset, raw in enumerate(body):
            line = raw.rstrip()
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if pending_line is None:
                pending_line = first + offset
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            pending += line.strip()
            yield pending_line, pending
            pending, pending_line = "", None


def documented_commands(root):
    """(file relative to ROOT, line, command) of the README and every docs/*.md."""
    files = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(root, "docs"))
                                   if f.endswith(".md"))
    for rel in files:
        for line, command in commands(os.path.join(root, rel)):
            yield rel, line, command
