#!/usr/bin/python3
"""Minimal RFC 1035 master-file reader for the interop suites: TXT records only.

Handles $ORIGIN, $TTL, relative and absolute owner names, a blank owner
(repeats the previous one), optional TTL/class fields, parentheses spanning
lines, quoted character-strings with backslash escapes, and ';' comments
outside quotes. Good enough for the zones hanko keygen and the shared
conformance suites write; not a general zone parser.

    zonefile.py flat ZONE   print "owner<TAB>txt-data" per TXT record
                            (owner without the trailing dot; the strings of
                            one record concatenated) -- the format of
                            libopendkim's DKIM_QUERY_FILE.
"""
import sys


def _tokens(text):
    """Yield logical lines (lists of (token, quoted)) of a master file."""
    line, depth, i, n = [], 0, 0, len(text)
    starts_blank = None
    while i < n:
        c = text[i]
        if c == '\n':
            if depth == 0:
                if line:
                    yield starts_blank, line
                line, starts_blank = [], None
            i += 1
            continue
        if starts_blank is None:
            starts_blank = c in ' \t'
        if c in ' \t\r':
            i += 1
        elif c == ';':
            while i < n and text[i] != '\n':
                i += 1
        elif c == '(':
            depth += 1
            i += 1
        elif c == ')':
            depth -= 1
            i += 1
        elif c == '"':
            i += 1
            buf = bytearray()
            while i < n and text[i] != '"':
                if text[i] == '\\' and i + 1 < n:
                    i += 1
                    if text[i:i + 3].isdigit():
                        buf.append(int(text[i:i + 3]))
                        i += 3
                        continue
                buf += text[i].encode('utf-8')
                i += 1
            i += 1
            line.append((bytes(buf), True))
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n;()"':
                j += 1
            line.append((text[i:j], False))
            i = j
    if line:
        yield starts_blank, line


def read(path):
    """Return {lower-case owner without trailing dot: [txt bytes, ...]}."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    origin, last, out = '', None, {}

    def absname(name):
        if name == '@':
            return origin
        if name.endswith('.'):
            return name[:-1]
        return name + ('.' + origin if origin else '')

    for blank, toks in _tokens(text):
        if not toks[0][1] and toks[0][0].upper() == '$ORIGIN':
            origin = toks[1][0].rstrip('.')
            continue
        if not toks[0][1] and toks[0][0].startswith('$'):
            continue
        if blank:
            owner = last
        else:
            owner = absname(toks[0][0])
            toks = toks[1:]
        last = owner
        # skip optional TTL and class, find the type
        k = 0
        while k < len(toks) and not toks[k][1] and (
                toks[k][0].isdigit() or toks[k][0].upper() in ('IN', 'CH', 'HS')):
            k += 1
        if k >= len(toks) or toks[k][0].upper() != 'TXT':
            continue
        data = b''.join(t for t, q in toks[k + 1:] if q) or \
            ''.join(t for t, q in toks[k + 1:]).encode()
        out.setdefault(owner.lower(), []).append(data)
    return out


if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[1] != 'flat':
        sys.exit('usage: zonefile.py flat ZONE')
    for owner, recs in read(sys.argv[2]).items():
        for r in recs:
            sys.stdout.write(owner + '\t' + r.decode('utf-8', 'replace') + '\n')
