"""The text normalisation of text-classifier-v2, byte for byte the same as ft_normalise() in
services/ml-inference/src/fasttext_model.c (the component test checks they agree on every
held-out email). It works on UTF-8 bytes and touches only ASCII, so any UTF-8 stays UTF-8.

  1. An email (a header block of "Name: value" fields and folded lines, optionally after an
     mbox "From " line, ended by a blank line, with at least one common field) keeps only its
     Subject value(s) and its body; any other text is kept whole.
  2. Lines that look like base64 (40+ characters of [A-Za-z0-9+/=] only) are dropped: an
     attachment's encoding says nothing a word could, and would flood the vocabulary.
  3. Quoted-printable: soft line breaks ("=" at the end of a line) are removed, then "=XX"
     becomes the character when it is printable ASCII (so "=3D" reads "=").
  4. ASCII letters are lowercased; every ASCII punctuation character is a token of its own;
     ASCII controls, space and DEL separate tokens; bytes >= 0x80 belong to words.
The result is the tokens joined by single spaces (no newline), as fastText reads them.
"""
import re

_FIELD = re.compile(rb'[!-9;-~]+:')
_COMMON = {b'from', b'to', b'subject', b'date', b'received', b'return-path', b'message-id'}
_BASE64 = re.compile(rb'[A-Za-z0-9+/=]{40,}')
_SOFT_BREAK = re.compile(rb'=\r?\n')
_QP_HEX = re.compile(rb'=([0-9A-Fa-f]{2})')
_TOKEN = re.compile(rb'[!-/:-@\[-`{-~]|[^\x00-\x20\x7f!-/:-@\[-`{-~]+')


def _strip_cr(line):
    return line[:-1] if line.endswith(b'\r') else line


def _split_email(lines):
    """(subject lines, index of the first body line) when lines start with a header block,
    else None."""
    subject, in_subject, common = [], False, False
    for i, line in enumerate(lines):
        if _strip_cr(line) == b'':
            if i == 0 or not common:
                return None
            return subject, i + 1
        if i == 0 and line.startswith(b'From '):
            common, in_subject = True, False
            continue
        if i > 0 and line[:1] in (b' ', b'\t'):
            if in_subject:
                subject.append(line)
            continue
        m = _FIELD.match(line)
        if not m:
            return None
        name = m.group(0)[:-1].lower()
        common = common or name in _COMMON
        in_subject = name == b'subject'
        if in_subject:
            subject.append(line[m.end():])
    return None  # no blank line: not a header block


def _qp_byte(m):
    b = int(m.group(1), 16)
    return bytes([b]) if 0x20 <= b <= 0x7e else m.group(0)


def tokens(raw):
    """The tokens of raw (bytes, UTF-8)."""
    lines = raw.split(b'\n')
    split = _split_email(lines)
    if split is not None:
        subject, body = split
        lines = subject + lines[body:]
    kept = [ln for ln in lines if not _BASE64.fullmatch(_strip_cr(ln))]
    text = b'\n'.join(kept)
    text = _SOFT_BREAK.sub(b'', text)
    text = _QP_HEX.sub(_qp_byte, text)
    return _TOKEN.findall(text.lower())


def normalise(raw):
    return b' '.join(tokens(raw))
