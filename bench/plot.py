#!/usr/bin/python3
"""bench/plot.py REPORT.json OUT.svg - throughput plots, standard library only.

Left: signing msgs/s against worker count (log-normal corpus for the bound
and hanko batch, the peer subset for peers and hanko filter mode), one line
per implementation and algorithm. Right: signing MB/s against message size
(fixed 4 KB, log-normal with median 20 KB, fixed 100 KB) at the largest
worker count, bound and hanko batch. The bound appears twice: without the
output ("bound") and with the output write ("bound+write"), the one
--no-fsync batch rows are divided by. Rows that are not "ok" are left out.
"""
import json
import math
import sys

W, H, PAD = 520, 360, 60
LEGEND = 13 * 8 + 10    # room for 16 legend entries under each panel
COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b',
          '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#000000', '#aec7e8']


def esc(s):
    return s.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def label(r):
    """bound rows by variant: "bound" (core) and "bound+write"."""
    v = r.get('bound', 'core')
    return r['impl'] if r['impl'] != 'bound' or v == 'core' else \
        'bound+' + v


def panel(ox, title, xlabel, ylabel, series, xticks):
    """series: [(label, [(x, y)...])]; log y axis; xticks: [(x, text)]."""
    out = ['<g transform="translate(%d,0)">' % ox,
           '<text x="%d" y="20" font-size="14" text-anchor="middle">%s</text>'
           % (W // 2, esc(title))]
    ys = [y for _, pts in series for _, y in pts if y > 0]
    if not ys:
        out.append('<text x="%d" y="%d" text-anchor="middle">no data yet'
                   '</text></g>' % (W // 2, H // 2))
        return out
    lo = 10 ** math.floor(math.log10(min(ys)))
    hi = 10 ** math.ceil(math.log10(max(ys)))
    if hi <= lo:
        hi = lo * 10
    xs = [x for x, _ in xticks]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1

    def px(x):
        return PAD + (x - x0) / (x1 - x0) * (W - 2 * PAD)

    def py(y):
        return H - PAD - (math.log10(y) - math.log10(lo)) / \
            (math.log10(hi) - math.log10(lo)) * (H - 2 * PAD)

    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" '
               'stroke="#888"/>' % (PAD, PAD, W - 2 * PAD, H - 2 * PAD))
    e = lo
    while e <= hi * 1.001:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>'
                   '<text x="%d" y="%.1f" font-size="10" text-anchor="end">'
                   '%g</text>' % (PAD, W - PAD, py(e), py(e), PAD - 4,
                                  py(e) + 3, e))
        e *= 10
    for x, t in xticks:
        out.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">'
                   '%s</text>' % (px(x), H - PAD + 14, esc(t)))
    out.append('<text x="%d" y="%d" font-size="11" text-anchor="middle">%s'
               '</text>' % (W // 2, H - PAD + 32, esc(xlabel)))
    out.append('<text x="14" y="%d" font-size="11" transform="rotate(-90 14 '
               '%d)" text-anchor="middle">%s</text>' % (H // 2, H // 2,
                                                       esc(ylabel)))
    for i, (label, pts) in enumerate(series):
        col = COLORS[i % len(COLORS)]
        pts = sorted(p for p in pts if p[1] > 0)
        if len(pts) > 1:
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" '
                       'points="%s"/>' % (col, ' '.join(
                           '%.1f,%.1f' % (px(x), py(y)) for x, y in pts)))
        for x, y in pts:
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>'
                       % (px(x), py(y), col))
        out.append('<text x="%d" y="%d" font-size="10" fill="%s">%s</text>'
                   % (PAD + (i % 2) * 220, H + 8 + 13 * (i // 2), col,
                      esc(label)))
    out.append('</g>')
    return out


def main():
    doc = json.load(open(sys.argv[1]))
    rows = [r for r in doc['rows'] if r['status'] == 'ok' and
            r['op'] == 'sign' and r.get('msgs_per_s')]
    maxw = max([r['workers'] for r in rows] or [1])
    by = {}
    for r in rows:
        if r['impl'] in ('bound', 'hanko batch') and r['corpus'] != 'ln':
            continue
        if r['impl'] == 'hanko batch' and (r.get('io') != 'uring' or
                                           r.get('fsync') != 'nofsync'):
            continue
        if r['impl'] not in ('bound', 'hanko batch') and r['corpus'] != 'peer':
            continue
        if r['impl'] == 'bound' and r.get('bound') == 'durable':
            continue
        by.setdefault('%s %s' % (label(r), r['alg']), []).append(
            (r['workers'], r['msgs_per_s']))
    left = sorted(by.items())
    sizes = {'f4k': 4096, 'f100k': 102400}
    if 'ln' in doc.get('corpora', {}):
        c = doc['corpora']['ln']
        sizes['ln'] = c['bytes'] / max(c['msgs'], 1)
    by = {}
    for r in rows:
        if r['impl'] in ('bound', 'hanko batch') and r['corpus'] in sizes \
                and r['workers'] == maxw and r['alg'] != 'dual' and \
                r.get('fsync', 'nofsync') == 'nofsync' and \
                r.get('io', 'uring') in ('uring', 'auto') and \
                'signing_domains' not in r:
            if r['impl'] == 'bound' and r.get('bound') == 'durable':
                continue
            by.setdefault('%s %s' % (label(r), r['alg']), []).append(
                (math.log10(sizes[r['corpus']]), r['mb_per_s']))
    right = sorted(by.items())
    ws = sorted({w for _, p in left for w, _ in p} or {1})
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif">' % (2 * W, H + LEGEND),
           '<rect width="100%" height="100%" fill="white"/>']
    svg += panel(0, 'signing: msgs/s vs workers', 'workers (threads or '
                 'processes)', 'msgs/s (log)', left, [(w, str(w)) for w in ws])
    svg += panel(W, 'signing: MB/s vs message size (%d workers)' % maxw,
                 'message size (ln = log-normal corpus mean)', 'MB/s (log)',
                 right, [(math.log10(v), '%s %.0fK' % (k, v / 1024))
                         for k, v in sorted(sizes.items(),
                                            key=lambda kv: kv[1])])
    svg.append('</svg>')
    open(sys.argv[2], 'w').write('\n'.join(svg) + '\n')


if __name__ == '__main__':
    main()
