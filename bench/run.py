#!/usr/bin/python3
"""bench/run.py - `make bench`: hanko against the machine's bound and its peers.

    /usr/bin/python3 bench/run.py [--quick] [--profile] [--out DIR]
                                  [--hanko PATH] [--jobs N]

Everything is measured in one run, on one machine, over the same corpora:

  bound     bench/bound.c: read + SHA-256 + one private-key operation per
            message with OpenSSL directly, T threads (the physical bound),
            in three variants: "core" (no output: the old bound, kept as a
            named view), "write" (plus each output created exclusively
            under a temporary name in one directory and renamed into place)
            and "durable" (plus one syncfs per 64 outputs before their
            renames and a directory fsync after). Every hanko row is divided
            by its own bound: batch --no-fsync rows and filter rows by
            "write", durable batch rows by "durable", verify rows by "core";
            ratio_core divides by "core" too.
  hanko     `hanko sign` batch (rsa, ed25519, dual; -j 1 and -j NCPU; --io
            uring|sync; durable and --no-fsync), with OpenDKIM KeyTables of
            1 .. 100,000 signing domains; `hanko sign` filter mode (one process
            per message, start-up included); `hanko verify` over signed output.
  deliver   `hanko sign --deliver` of 10,000 messages (with sidecars) to
            Postfix's smtp-sink on loopback, divided by the rate of signing
            the same messages into a directory in the same run (both
            durable); a dumped sample of what the sink received is
            cross-verified.
  peers     dkimpy, Mail::DKIM and libopendkim (bench/peers/), each an
            in-process loop over the same messages with the same keys and
            header list; only the loop is timed.

Every row is cross-verified by another implementation (a sample of what it
signed verifies elsewhere; a verifier must pass everything it was given,
which another implementation signed). A row whose check fails is "broken";
its number is not a result. hanko batch rows are "pending" while `hanko sign
SPOOL OUT` is not implemented (detected with a 3-message spool).

Output: OUT/report.md, OUT/report.json and OUT/throughput.svg (OUT defaults
to build/bench). Corpora and keys are generated into OUT and reused while
their parameters do not change; nothing here is committed. --quick runs a
tiny version in seconds (CI keeps the harness from rotting: it checks that
every row is produced and cross-verified, never a speed). --profile adds a
perf (or callgrind) profile of hanko on a small corpus.

Ratios to the bound are the figures to quote: absolute rates move with the
machine's load, the ratios much less, because the bound is measured in the
same run.
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(TOP, 'bench')
PY = '/usr/bin/python3'
DOMAIN = 'bench.example'
# hanko's default h= list (core/dkim_sign.c default_headers); the peers are
# given the same names, so every implementation hashes the same fields.
HEADERS = ('from:reply-to:subject:date:to:cc:resent-date:resent-from:'
           'resent-to:resent-cc:in-reply-to:references:list-id:list-help:'
           'list-unsubscribe:list-unsubscribe-post:list-subscribe:list-post:'
           'list-owner:list-archive:message-id:mime-version:content-type:'
           'content-transfer-encoding')
XV_SAMPLE = 25          # messages per cross-verification sample
GOAL = {'rsa': 0.90, 'ed25519': 0.75}

SIZES = {   # corpus sizes: default, quick
    'ln': (20000, 24), 'f4k': (10000, 12), 'f100k': (2000, 6),
    'kt': (5000, 12), 'peer': (1000, 8), 'pool': (64, 4), 'prof': (300, 20),
    'rep': (10000, 24), 'dlv': (10000, 12),
}
KT_DOMAINS = ((1, 1000, 10000, 100000), (1, 100))


def log(*a):
    print('bench:', *a, file=sys.stderr, flush=True)


class Ctx:
    """Paths, options and results of one run."""

    def __init__(self, a):
        self.quick = a.quick
        self.full = a.full or a.quick
        self.out = os.path.abspath(a.out)
        self.hanko = os.path.abspath(a.hanko)
        self.ncpu = a.jobs or os.cpu_count() or 1
        self.workers = sorted({1, self.ncpu})
        q = 1 if a.quick else 0
        self.n = {k: v[q] for k, v in SIZES.items()}
        self.kt_domains = KT_DOMAINS[q]
        self.bin = os.path.join(self.out, 'bin')
        self.keys = os.path.join(self.out, 'keys')
        self.corp = os.path.join(self.out, 'corpus')
        self.work = os.path.join(self.out, 'work')
        self.rows = []
        self.bounds = {}
        self.batch = None       # None: unknown, else (ok, reason)
        self.peers = {}


# --- running and measuring ----------------------------------------------

def measure(cmd, stdin=None, env=None, timeout=None):
    """Run cmd under /usr/bin/time: wall (ours), cpu_s, peak RSS, output."""
    tf = '/tmp/hanko-bench-time.%d' % os.getpid()
    timed = ['/usr/bin/time', '-f', '%U %S %M', '-o', tf] + cmd \
        if os.path.exists('/usr/bin/time') else cmd
    t0 = time.perf_counter()
    p = subprocess.run(timed, stdin=stdin, capture_output=True, env=env,
                       timeout=timeout)
    wall = time.perf_counter() - t0
    r = {'rc': p.returncode, 'wall': wall, 'out': p.stdout.decode('utf-8',
         'replace'), 'err': p.stderr.decode('utf-8', 'replace'),
         'cpu_s': None, 'rss_kb': None}
    try:
        with open(tf) as f:
            last = f.read().strip().splitlines()[-1].split()
        r['cpu_s'] = float(last[0]) + float(last[1])
        r['rss_kb'] = int(last[2])
        os.unlink(tf)
    except (OSError, IndexError, ValueError):
        pass
    return r


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, **kw)


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith('{'):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


def files_of(d):
    """The regular files of d (hanko batch keeps a failed/ folder there)."""
    return sorted(e.path for e in os.scandir(d)
                  if not e.name.startswith('.') and e.is_file())


def corpus_bytes(d):
    return sum(os.path.getsize(f) for f in files_of(d))


def fresh(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def link_tree(src, dst, limit=None):
    """dst gets hard links to (the first limit) files of src."""
    fresh(dst)
    for f in files_of(src)[:limit]:
        os.link(f, os.path.join(dst, os.path.basename(f)))
    return dst


def write_list(path, files):
    with open(path, 'w') as f:
        f.write(''.join(x + '\n' for x in files))
    return path


# --- building the helpers -------------------------------------------------

def build_helpers(c):
    os.makedirs(c.bin, exist_ok=True)
    crypto = sh(['pkg-config', '--cflags', '--libs', 'libcrypto'])
    crypto = crypto.stdout.decode().split() if crypto.returncode == 0 \
        else ['-lcrypto']
    progs = [('gen_corpus', 'bench/gen_corpus.c', []),
             ('bound', 'bench/bound.c', crypto + ['-lpthread'])]
    od = sh(['pkg-config', '--cflags', '--libs', 'opendkim'])
    if od.returncode == 0:
        progs.append(('peer_opendkim', 'bench/peers/peer_opendkim.c',
                      od.stdout.decode().split()))
    for name, src, libs in progs:
        out, src = os.path.join(c.bin, name), os.path.join(TOP, src)
        if os.path.exists(out) and os.path.getmtime(out) >= \
                os.path.getmtime(src):
            continue
        p = sh([os.environ.get('CC', 'cc'), '-std=gnu17', '-O2', '-o', out,
                src] + libs)
        if p.returncode != 0:
            sys.exit('bench: cannot build %s:\n%s' % (name, p.stderr.decode()))


# --- keys and corpora ------------------------------------------------------

def txt_record(path):
    """The TXT data of a `hanko keygen` .txt file (quoted strings joined)."""
    return ''.join(re.findall(r'"([^"]*)"', open(path).read()))


def make_keys(c):
    k = c.keys
    os.makedirs(k, exist_ok=True)
    for sel, alg in (('rsa', 'rsa'), ('ed', 'ed25519')):
        if not os.path.exists(os.path.join(k, sel + '.private')):
            p = sh([c.hanko, 'keygen', '-d', DOMAIN, '-s', sel, '-a', alg,
                    '-o', k])
            if p.returncode != 0:
                sys.exit('bench: hanko keygen failed: %s' % p.stderr.decode())
    pool = os.path.join(k, 'pool')
    os.makedirs(pool, exist_ok=True)
    for i in range(c.n['pool']):
        if not os.path.exists(os.path.join(pool, 'k%02d.private' % i)):
            sh([c.hanko, 'keygen', '-d', 'pool.' + DOMAIN, '-s', 'k%02d' % i,
                '-a', 'rsa', '-o', pool], check=True)
    c.pool_rec = [txt_record(os.path.join(pool, 'k%02d.txt' % i))
                  for i in range(c.n['pool'])]
    c.rec = {s: txt_record(os.path.join(k, s + '.txt')) for s in ('rsa', 'ed')}
    c.zone = os.path.join(k, 'zone')
    c.query = os.path.join(k, 'query')
    write_zone(c.zone, c.query, [('rsa', DOMAIN, c.rec['rsa']),
                                 ('ed', DOMAIN, c.rec['ed'])])


def write_zone(zone, query, entries):
    """entries (selector, domain, record): an RFC 1035 zone for hanko and
    a DKIM_QUERY_FILE ("name<TAB>record") for the peers."""
    with open(zone, 'w') as z, open(query, 'w') as q:
        for sel, dom, rec in entries:
            name = '%s._domainkey.%s' % (sel, dom)
            parts = ' '.join('"%s"' % rec[i:i + 250]
                             for i in range(0, len(rec), 250))
            z.write('%s.\tIN\tTXT\t( %s )\n' % (name, parts))
            q.write('%s\t%s\n' % (name, rec))


def gen(c, name, n, extra):
    d = os.path.join(c.corp, name)
    stamp = os.path.join(c.corp, name + '.json')
    want = {'n': n, 'args': extra,
            'gen': os.path.getmtime(os.path.join(c.bin, 'gen_corpus'))}
    try:
        if json.load(open(stamp)) == want:
            return d
    except (OSError, ValueError):
        pass
    shutil.rmtree(d, ignore_errors=True)
    t0 = time.perf_counter()
    sh([os.path.join(c.bin, 'gen_corpus'), '-o', d, '-n', str(n)] + extra,
       check=True)
    log('corpus %s: %d messages in %.1fs' % (name, n,
                                             time.perf_counter() - t0))
    json.dump(want, open(stamp, 'w'))
    return d


def make_corpora(c):
    os.makedirs(c.corp, exist_ok=True)
    n = c.n
    c.c = {'ln': gen(c, 'ln', n['ln'], []),
           'f4k': gen(c, 'f4k', n['f4k'], ['-z', '4096']),
           'f100k': gen(c, 'f100k', n['f100k'], ['-z', '102400']),
           # a campaign: 90% of the messages share one body
           'rep': gen(c, 'rep', n['rep'], ['-r', '90'])}
    for k in c.kt_domains:
        c.c['kt%d' % k] = gen(c, 'kt%d' % k, n['kt'], ['-k', str(k)])
    c.c['peer'] = link_tree(c.c['ln'], os.path.join(c.corp, 'peer'),
                            n['peer'])
    c.c['prof'] = link_tree(c.c['ln'], os.path.join(c.corp, 'prof'),
                            n['prof'])
    c.bytes = {k: corpus_bytes(v) for k, v in c.c.items()}
    c.count = {k: len(files_of(v)) for k, v in c.c.items()}


# --- rows --------------------------------------------------------------------

def add_row(c, rid, impl, op, alg, corpus, workers, status, m=None, **kw):
    """m: {'msgs','seconds','cpu_s','rss_kb'} of a completed measurement;
    kw 'bound' names the bound variant the row is divided by (core,
    write, durable; default core)."""
    row = {'id': rid, 'impl': impl, 'op': op, 'alg': alg, 'corpus': corpus,
           'workers': workers, 'status': status}
    row.update(kw)
    row.setdefault('bound', 'core')
    if m is not None and m.get('seconds'):
        nbytes = m.get('bytes', c.bytes.get(corpus, 0))
        row.update(msgs=m['msgs'], bytes=nbytes,
                   seconds=round(m['seconds'], 4),
                   msgs_per_s=round(m['msgs'] / m['seconds'], 1),
                   mb_per_s=round(nbytes / 1e6 / m['seconds'], 2),
                   cpu_s=m.get('cpu_s'), peak_rss_kb=m.get('rss_kb'))
        key = (op, alg, kw.get('bound_corpus', corpus), workers)
        b = c.bounds.get(key + (row['bound'],))
        if b and impl != 'bound':
            row['bound_msgs_per_s'] = b[0]
            row['ratio'] = round(row['msgs_per_s'] / b[0], 3)
            if row.get('cpu_s'):
                row['cpu_ratio'] = round(b[1] / (row['cpu_s'] / m['msgs']), 3)
        core = c.bounds.get(key + ('core',))
        if core and impl != 'bound':
            row['ratio_core'] = round(row['msgs_per_s'] / core[0], 3)
    c.rows.append(row)
    flag = row.get('msgs_per_s', '')
    log('%-44s %-8s %s %s' % (rid, status, flag,
                               'ratio %.3f' % row['ratio'] if 'ratio' in row
                               else ''))
    return row


# --- cross-verification ----------------------------------------------------

def xverify_peer(c, files, query):
    """Verify files with a peer (dkimpy, else libopendkim); (ok, text)."""
    if not files:
        return False, 'no output to verify'
    lst = write_list(os.path.join(c.work, 'xv.list'), files)
    for name in ('dkimpy', 'opendkim'):
        cmd = peer_cmd(c, name)
        if cmd is None:
            continue
        p = sh(cmd + ['verify', '-q', query, '-l', lst])
        j = last_json(p.stdout.decode())
        if j is None:
            return False, '%s verify crashed: %s' % (name,
                                                     p.stderr.decode()[-300:])
        good = j['msgs'] - j['failed']
        return j['failed'] == 0, '%s %d/%d' % (name, good, j['msgs'])
    p = sh([c.hanko, 'verify', '--dns-zone', zone_for(query)] + files)
    return p.returncode == 0, 'hanko only (no peer installed) %s' % (
        'pass' if p.returncode == 0 else 'FAIL')


def zone_for(query):
    return query[:-len('.query')] + '.zone' if query.endswith('.query') \
        else os.path.join(os.path.dirname(query), 'zone')


def xverify_hanko(c, files, zone):
    """hanko verify over a peer's output: every message must pass."""
    if not files:
        return False, 'no output to verify'
    p = sh([c.hanko, 'verify', '--dns-zone', zone] + files)
    out = p.stdout.decode()
    good = out.count('dkim=pass')
    bad = len(re.findall(r'dkim=(?!pass)', out))
    ok = p.returncode == 0 and bad == 0 and good >= len(files)
    return ok, 'hanko %d/%d' % (min(good, len(files)) if bad == 0 else
                                len(files) - bad, len(files))


def sample(files, n=XV_SAMPLE):
    if len(files) <= n:
        return files
    step = len(files) / n
    return [files[int(i * step)] for i in range(n)]


# --- the bound ---------------------------------------------------------------

def key_args(alg, keys):
    if alg == 'rsa':
        return ['-k', os.path.join(keys, 'rsa.private')]
    if alg == 'ed25519':
        return ['-k', os.path.join(keys, 'ed.private')]
    return ['-k', os.path.join(keys, 'rsa.private'),
            '-k', os.path.join(keys, 'ed.private')]


BOUND_ARGS = {'core': [], 'write': [], 'durable': ['-D', 'syncfs']}


def run_bound(c, op, alg, corpus, workers, variant='core', row=True):
    """One bound run; write and durable variants write into a fresh
    directory, which must then hold one output per message. row=False
    only refreshes the bound a following row is divided by (see
    paired_bound)."""
    cmd = [os.path.join(c.bin, 'bound'), '-a', alg, '-j', str(workers)]
    cmd += (['-v'] if op == 'verify' else []) + key_args(alg, c.keys)
    out = None
    if variant != 'core':
        out = fresh(os.path.join(c.work, 'bound-out'))
        cmd += ['-o', out] + BOUND_ARGS[variant]
    r = measure(cmd + [c.c[corpus]])
    j = last_json(r['out'])
    rid = 'bound:%s:%s:%s:j%d%s' % (op, alg, corpus, workers,
                                     '' if variant == 'core' else
                                     ':' + variant)
    nout = len(files_of(out)) if out else None
    if out:
        shutil.rmtree(out, ignore_errors=True)
    bad = r['rc'] != 0 or j is None or j['failed'] or \
        (nout is not None and nout != j['msgs'])
    if not row:
        if not bad:
            c.bounds[(op, alg, corpus, workers, variant)] = (
                j['msgs_per_s'], j['cpu_s'] / max(j['msgs'], 1))
        return None
    if bad:
        return add_row(c, rid, 'bound', op, alg, corpus, workers, 'failed',
                       bound=variant, note=r['err'][-300:] or
                       '%s outputs for %s messages' % (nout, j and j['msgs']))
    c.bounds[(op, alg, corpus, workers, variant)] = (
        j['msgs_per_s'], j['cpu_s'] / max(j['msgs'], 1))
    m = {'msgs': j['msgs'], 'seconds': j['seconds'], 'cpu_s': j['cpu_s'],
         'rss_kb': r['rss_kb'], 'bytes': j['bytes']}
    return add_row(c, rid, 'bound', op, alg, corpus, workers, 'ok', m,
                   bound=variant, xverify='n/a (OpenSSL return codes '
                   'checked%s)' % ('' if out is None else
                                   '; one output file per message'))


def paired_bound(c, alg, corpus, workers, variant):
    """Measure a row's own bound again right before the row: on a shared
    machine the load drifts within minutes, and a bound measured next to
    its row keeps the ratio honest. The up-front bound rows stay in the
    report as the reference; this only refreshes the divisor."""
    run_bound(c, 'sign', alg, corpus, workers, variant, row=False)


def all_bounds(c):
    """Every bound a row is divided by: core for each sign row's view,
    write for --no-fsync batch and filter rows, durable where a durable
    batch row runs (batch_variants)."""
    for w in c.workers:
        for alg in ('rsa', 'ed25519', 'dual'):
            run_bound(c, 'sign', alg, 'ln', w)
            run_bound(c, 'sign', alg, 'ln', w, 'write')
            if ('uring', 'durable') in batch_variants(c, alg, w):
                run_bound(c, 'sign', alg, 'ln', w, 'durable')
        for alg in ('rsa', 'ed25519'):
            run_bound(c, 'verify', alg, 'ln', w)
            for corpus in ('f4k', 'f100k', 'peer', 'rep'):
                run_bound(c, 'sign', alg, corpus, w)
                run_bound(c, 'sign', alg, corpus, w, 'write')
            run_bound(c, 'verify', alg, 'peer', w)
    run_bound(c, 'sign', 'rsa', 'kt1', c.ncpu)
    run_bound(c, 'sign', 'rsa', 'kt1', c.ncpu, 'write')


# --- hanko -------------------------------------------------------------------

def hanko_keys(c, alg):
    k = ['-d', DOMAIN]
    if alg in ('rsa', 'dual'):
        k += ['-s', 'rsa', '-k', os.path.join(c.keys, 'rsa.private')]
    if alg in ('ed25519', 'dual'):
        k += ['-s', 'ed', '-k', os.path.join(c.keys, 'ed.private')]
    return k


def batch_run(c, keys, src, extra, tag):
    """One `hanko sign` batch over a hard-link copy of src; (r, out, stats)."""
    spool = link_tree(src, os.path.join(c.work, 'spool-' + tag))
    out = fresh(os.path.join(c.work, 'out-' + tag))
    stats = os.path.join(c.work, 'stats-%s.json' % tag)
    if os.path.exists(stats):
        os.unlink(stats)
    r = measure([c.hanko, 'sign'] + keys + extra +
                ['--stats-json', stats, spool, out], timeout=3600)
    try:
        st = json.load(open(stats))
    except (OSError, ValueError):
        st = None
    return r, out, st, spool


def detect_batch(c):
    """Does `hanko sign SPOOL OUT` work? A 3-message spool decides."""
    src = link_tree(c.c['ln'], os.path.join(c.work, 'probe-src'), 3)
    r, out, st, spool = batch_run(c, hanko_keys(c, 'rsa'), src,
                                  ['--no-fsync'], 'probe')
    outs = files_of(out)
    if r['rc'] != 0:
        why = ([l for l in r['err'].splitlines() if l.startswith('hanko')]
               or r['err'].strip().splitlines() or ['exit %d' % r['rc']])[0]
        c.batch = (False, 'batch mode not available: %s' % why[:200])
    else:
        # It runs: from here on every row speaks for itself, and a wrong
        # result is "broken", not "pending".
        ok, why = xverify_hanko(c, outs, c.zone)
        bad = len(outs) != 3 or files_of(spool) or not ok
        c.batch = (True, 'batch mode works' if not bad else
                   'batch mode runs but its 3-message probe is wrong: %d '
                   'outputs, %d left in spool, verify %s' % (
                       len(outs), len(files_of(spool)), why))
    log(c.batch[1])


def batch_row(c, rid, alg, corpus, workers, keys, extra, query, bound_corpus,
              keep=False, **kw):
    kw['bound'] = 'write' if '--no-fsync' in extra else 'durable'
    if not c.batch[0]:
        return add_row(c, rid, 'hanko batch', 'sign', alg, corpus, workers,
                       'pending', note=c.batch[1], **kw)
    tag = rid.replace(':', '_')
    paired_bound(c, alg, bound_corpus, workers, kw['bound'])
    r, out, st, spool = batch_run(c, keys, c.c[corpus],
                                  ['-j', str(workers)] + extra, tag)
    outs = files_of(out)
    n = c.count[corpus]
    if r['rc'] != 0 or len(outs) != n:
        row = add_row(c, rid, 'hanko batch', 'sign', alg, corpus, workers,
                      'failed', note=('exit %d, %d/%d outputs: %s' % (
                          r['rc'], len(outs), n, r['err'][-300:])), **kw)
    else:
        ok, why = xverify_peer(c, sample(outs), query)
        m = {'msgs': n, 'seconds': r['wall'], 'cpu_s': r['cpu_s'],
             'rss_kb': r['rss_kb']}
        row = add_row(c, rid, 'hanko batch', 'sign', alg, corpus, workers,
                      'ok' if ok else 'broken', m, xverify=why,
                      bound_corpus=bound_corpus, **kw)
        if st:
            row['hanko_stats'] = st
            if st.get('signed') != n:
                row['status'] = 'broken'
                row['note'] = 'stats say signed=%s, want %d' % (
                    st.get('signed'), n)
    shutil.rmtree(spool, ignore_errors=True)
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return row, out


def batch_variants(c, alg, workers):
    """(io, fsync) pairs to run: all four everywhere with --full (and in
    quick mode, where they cost nothing); otherwise all four only for rsa
    and ed25519 at full width, uring + --no-fsync elsewhere, which keeps
    the default run near 15 minutes on 2 cores."""
    full = [(io, fs) for io in ('uring', 'sync')
            for fs in ('durable', 'nofsync')]
    if c.full or (alg != 'dual' and workers == c.ncpu):
        return full
    return [('uring', 'nofsync')]


def batch_ln(c, alg, w, io, fs):
    """One batch row over the log-normal corpus; the output of the
    full-width uring --no-fsync run is kept for hanko verify."""
    extra = ['--io', io] + (['--no-fsync'] if fs == 'nofsync' else [])
    rid = 'hanko-batch:sign:%s:ln:j%d:%s:%s' % (alg, w, io, fs)
    keep = w == c.ncpu and io == 'uring' and fs == 'nofsync'
    res = batch_row(c, rid, alg, 'ln', w, hanko_keys(c, alg), extra,
                    c.query, 'ln', keep=keep, io=io, fsync=fs)
    return res if keep else None


def batch_matrix(c):
    kept = {}
    for alg in ('rsa', 'ed25519', 'dual'):
        for w in c.workers:
            for io, fs in batch_variants(c, alg, w):
                res = batch_ln(c, alg, w, io, fs)
                if isinstance(res, tuple) and res[0]['status'] == 'ok':
                    kept[alg] = res[1]
    for corpus in ('f4k', 'f100k', 'rep'):
        for alg in ('rsa', 'ed25519'):
            for w in c.workers:
                rid = 'hanko-batch:sign:%s:%s:j%d:auto:nofsync' % (alg,
                                                                    corpus, w)
                res = batch_row(c, rid, alg, corpus, w, hanko_keys(c, alg),
                                ['--io', 'auto', '--no-fsync'], c.query,
                                corpus, io='auto', fsync='nofsync')
                row = res[0] if isinstance(res, tuple) else res
                if corpus == 'rep' and row.get('hanko_stats'):
                    row['bodies_reused'] = row['hanko_stats'].get(
                        'bodies_reused', 0)
                    row['xverify'] = '%s; %d body hashes reused' % (
                        row.get('xverify', ''), row['bodies_reused'])
    return kept


def free_port():
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def smtp_sink(dump=None):
    """Postfix's smtp-sink on loopback (dump: one file per message in
    that directory); (process, port) or (None, why)."""
    exe = shutil.which('smtp-sink') or '/usr/sbin/smtp-sink'
    if not os.access(exe, os.X_OK):
        return None, 'smtp-sink not installed (Debian package postfix)'
    port = free_port()
    cmd = [exe, '-u', 'nobody']
    if dump:
        os.chmod(dump, 0o777)
        cmd += ['-d', os.path.join(dump, '%H%M%S.')]
    p = subprocess.Popen(cmd + ['127.0.0.1:%d' % port, '256'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            import socket
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    return None, 'smtp-sink did not start'


def deliver_spool(c, src, tag, limit=None):
    """A hard-link copy of src with a NAME.env sidecar per message."""
    spool = link_tree(src, os.path.join(c.work, 'spool-' + tag), limit)
    for i, f in enumerate(files_of(spool)):
        with open(f + '.env', 'w') as e:
            e.write('mail-from=<bounce@%s>\nrcpt=<r%d@rcpt.example>\n' %
                    (DOMAIN, i))
    return spool


def milter_rows(c):
    """hanko milter against OpenDKIM's milter behind one private Postfix
    (bench/milter.sh): msgs/s and the p50/p99 latency each adds to the
    transaction, same messages, same run; the ratio is hanko's msgs/s over
    OpenDKIM's. Full runs only (Postfix start-up dominates a quick one)."""
    n, conns = (400, 4)
    rids = {k: '%s-milter:sign:rsa:postfix:c%d' % (k, conns)
            for k in ('hanko', 'opendkim')}
    if c.quick or os.geteuid() != 0:
        for k, rid in rids.items():
            add_row(c, rid, k + ' milter', 'milter', 'rsa', 'postfix', 1,
                    'skipped', note='quick run' if c.quick else 'needs root')
        return
    env = dict(os.environ, HANKO=os.path.abspath(c.hanko),
               SOCKET='unix')
    p = sh(['sh', os.path.join(BENCH, 'milter.sh'), str(n), str(conns)],
           env=env, timeout=1800)
    out = p.stdout.decode(errors='replace')
    got = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4 and f[0] in ('none', 'hanko', 'opendkim'):
            try:
                got[f[0]] = tuple(float(x) for x in f[1:4])
            except ValueError:
                pass
    cap = re.search(r'signed messages captured: (\d+)', out)
    # Both milters' messages must arrive signed (warm-ups add 4).
    if cap is None or int(cap.group(1)) < 2 * n:
        got = {}
    if p.returncode != 0 or len(got) != 3:
        for k, rid in rids.items():
            add_row(c, rid, k + ' milter', 'milter', 'rsa', 'postfix', 1,
                    'failed', note='bench/milter.sh exit %d, %s signed '
                    'captured: %s' % (p.returncode, cap and cap.group(1),
                                      p.stderr.decode(errors='replace')[-300:]))
        return
    for k, rid in rids.items():
        rate, p50, p99 = got[k]
        row = add_row(c, rid, k + ' milter', 'milter', 'rsa', 'postfix', 1,
                      'ok', {'msgs': n, 'seconds': n / rate},
                      bound='', connections=conns, p50_ms=p50, p99_ms=p99,
                      added_p50_ms=round(p50 - got['none'][1], 2),
                      added_p99_ms=round(p99 - got['none'][2], 2),
                      unfiltered_msgs_per_s=got['none'][0])
        if k == 'hanko':
            row['ratio'] = round(rate / got['opendkim'][0], 3)
            row['bound'] = 'opendkim milter'


def deliver_rows(c):
    """10,000 messages signed and delivered to smtp-sink, against the same
    messages signed into a directory in the same run (durable both)."""
    alg, w = 'rsa', c.ncpu
    conns = 2 * c.ncpu
    rid = 'hanko-deliver:sign+smtp:%s:dlv:j%d:c%d:durable' % (alg, w, conns)
    src = link_tree(c.c['ln'], os.path.join(c.work, 'dlv-src'), c.n['dlv'])
    n = len(files_of(src))
    keys = hanko_keys(c, alg)
    if not c.batch[0]:
        return add_row(c, rid, 'hanko deliver', 'sign', alg, 'ln', w,
                       'pending', note=c.batch[1])
    sink, port = smtp_sink()
    if sink is None:
        return add_row(c, rid, 'hanko deliver', 'sign', alg, 'ln', w,
                       'skipped', note=port)
    rd, out, st, spool = batch_run(c, keys, src, ['-j', str(w)], 'dlv-dir')
    shutil.rmtree(out, ignore_errors=True)
    dir_rate = n / rd['wall'] if rd['rc'] == 0 else None
    spool = deliver_spool(c, src, 'dlv')
    stats = os.path.join(c.work, 'stats-dlv.json')
    r = measure([c.hanko, 'sign'] + keys + [
        '--deliver', 'smtp://127.0.0.1:%d' % port, '--connections',
        str(conns), '--stats-json', stats, spool], timeout=3600)
    sink.kill()
    sink.wait()
    try:
        st = json.load(open(stats))
    except (OSError, ValueError):
        st = {}
    left = files_of(spool)
    if r['rc'] != 0 or st.get('delivered') != n or left:
        return add_row(c, rid, 'hanko deliver', 'sign', alg, 'ln', w,
                       'failed', note='exit %d, delivered %s/%d, %d left: '
                       '%s' % (r['rc'], st.get('delivered'), n, len(left),
                               r['err'][-300:]))
    # What the sink receives verifies elsewhere: a sample, dumped.
    # smtp-sink writes as user nobody, who may not reach c.work (make test
    # keeps it in a 0700 directory): a directory of its own, removed below.
    dump = tempfile.mkdtemp(prefix='hanko-bench-sink.')
    sink, port = smtp_sink(dump)
    sp = deliver_spool(c, src, 'dlv-xv', XV_SAMPLE)
    want = len([f for f in files_of(sp) if not f.endswith('.env')])
    sh([c.hanko, 'sign'] + keys + ['--deliver', 'smtp://127.0.0.1:%d' % port,
                                   sp])
    # smtp-sink writes its dump files as it answers: wait for every one
    # (a busy machine takes longer than any fixed pause), then a moment.
    for _ in range(200):
        if len(files_of(dump)) >= want:
            break
        time.sleep(0.05)
    time.sleep(0.2)
    sink.kill()
    sink.wait()
    ok, why = xverify_peer(c, files_of(dump), c.query)
    shutil.rmtree(dump, ignore_errors=True)
    m = {'msgs': n, 'seconds': r['wall'], 'cpu_s': r['cpu_s'],
         'rss_kb': r['rss_kb'], 'bytes': corpus_bytes(src)}
    row = add_row(c, rid, 'hanko deliver', 'sign', alg, 'ln', w,
                  'ok' if ok and dir_rate else 'broken', m, bound='durable',
                  connections=conns, hanko_stats=st)
    if dir_rate:
        row['directory_msgs_per_s'] = round(dir_rate, 1)
        row['ratio'] = round(row['msgs_per_s'] / dir_rate, 3)
        row['bound'] = 'directory'
    row['xverify'] = '%s; signing into a directory: %s msgs/s' % (
        why, row.get('directory_msgs_per_s'))
    log('deliver: %.0f msgs/s, directory %.0f msgs/s: ratio %s' % (
        row['msgs_per_s'], dir_rate or 0, row.get('ratio')))
    return row


def key_table(c, ndom):
    """KeyTable/SigningTable for ndom domains over the key pool, and a
    zone + query file for the domains (only those of the corpus used)."""
    d = fresh(os.path.join(c.work, 'kt%d' % ndom))
    pool = os.path.join(c.keys, 'pool')
    npool = c.n['pool']
    with open(os.path.join(d, 'KeyTable'), 'w') as kt, \
            open(os.path.join(d, 'SigningTable'), 'w') as st:
        for i in range(ndom):
            dom = 'd%05d.%s' % (i, DOMAIN)
            kt.write('k%d %s:s%d:%s/k%02d.private\n' % (i, dom, i, pool,
                                                        i % npool))
            st.write('%s k%d\n' % (dom, i))
    used = set()
    for f in files_of(c.c['kt%d' % ndom]):
        with open(f, 'rb') as fh:
            m = re.search(rb'^From:.*@d(\d{5})\.', fh.read(4096), re.M)
        if m:
            used.add(int(m.group(1)))
    write_zone(os.path.join(d, 'kt.zone'), os.path.join(d, 'kt.query'),
               [('s%d' % i, 'd%05d.%s' % (i, DOMAIN), c.pool_rec[i % npool])
                for i in sorted(used)])
    return d


def keytable_rows(c):
    for k in c.kt_domains:
        d = key_table(c, k)
        keys = ['--key-table', os.path.join(d, 'KeyTable'),
                '--signing-table', os.path.join(d, 'SigningTable')]
        rid = 'hanko-batch:sign:rsa:kt%d:j%d:auto:nofsync' % (k, c.ncpu)
        batch_row(c, rid, 'rsa', 'kt%d' % k, c.ncpu, keys,
                  ['--io', 'auto', '--no-fsync'],
                  os.path.join(d, 'kt.query'), 'kt1', io='auto',
                  fsync='nofsync', signing_domains=k)


def filter_rows(c):
    """hanko sign as a filter, one process per message (xargs -P)."""
    signed = {}
    files = files_of(c.c['peer'])
    lst = write_list(os.path.join(c.work, 'peer.list'), files)
    for alg in ('rsa', 'ed25519'):
        for w in c.workers:
            out = fresh(os.path.join(c.work, 'filter-%s-j%d' % (alg, w)))
            script = '"$0" sign %s < "$1" > "%s/${1##*/}"' % (
                ' '.join(hanko_keys(c, alg)), out)
            r = measure(['sh', '-c', 'xargs -P %d -n 1 sh -c \'%s\' "$1" < "$2"'
                         % (w, script), 'sh', c.hanko, lst])
            outs = files_of(out)
            rid = 'hanko-filter:sign:%s:peer:j%d' % (alg, w)
            if r['rc'] != 0 or len(outs) != len(files) or \
                    any(os.path.getsize(f) == 0 for f in outs):
                add_row(c, rid, 'hanko filter', 'sign', alg, 'peer', w,
                        'failed', note=r['err'][-300:])
                continue
            ok, why = xverify_peer(c, sample(outs), c.query)
            add_row(c, rid, 'hanko filter', 'sign', alg, 'peer', w,
                    'ok' if ok else 'broken',
                    {'msgs': len(files), 'seconds': r['wall'],
                     'cpu_s': r['cpu_s'], 'rss_kb': r['rss_kb']},
                    xverify=why, bound='write',
                    note='one process per message; start-up and key loading '
                    'included')
            if ok:
                signed[alg] = out
    return signed


def verify_rows(c, signed, corpus):
    """hanko verify (one process over a directory) over hanko's output."""
    for alg, d in sorted(signed.items()):
        if alg == 'dual':
            continue
        r = measure([c.hanko, 'verify', '--dns-zone', c.zone, d])
        n = len(files_of(d))
        good = r['out'].count('dkim=pass')
        rid = 'hanko:verify:%s:%s:j1' % (alg, corpus)
        st = 'ok' if r['rc'] == 0 and good == n else 'broken'
        add_row(c, rid, 'hanko', 'verify', alg, corpus, 1, st,
                {'msgs': n, 'seconds': r['wall'], 'cpu_s': r['cpu_s'],
                 'rss_kb': r['rss_kb']},
                xverify='input signed by hanko, sample verified by a peer; '
                'hanko passes %d/%d' % (good, n))


# --- peers -------------------------------------------------------------------

def detect_peers(c):
    ok = sh([PY, '-c', 'import dkim, nacl.signing']).returncode == 0 \
        if os.path.exists(PY) else False
    c.peers['dkimpy'] = ok
    c.peers['maildkim'] = sh(['perl', '-MMail::DKIM::Signer', '-MNet::DNS',
                              '-e', '1']).returncode == 0
    c.peers['opendkim'] = os.path.exists(os.path.join(c.bin, 'peer_opendkim'))


def peer_cmd(c, name):
    if not c.peers.get(name):
        return None
    if name == 'dkimpy':
        return [PY, os.path.join(BENCH, 'peers', 'peer_dkimpy.py')]
    if name == 'maildkim':
        return ['perl', os.path.join(BENCH, 'peers', 'peer_maildkim.pl')]
    return [os.path.join(c.bin, 'peer_opendkim')]


def run_sharded(cmd, files, workers, tag, work):
    """workers processes over interleaved shards; combined measurement."""
    procs = []
    for i in range(workers):
        lst = write_list(os.path.join(work, '%s.%d.list' % (tag, i)),
                         files[i::workers])
        tf = os.path.join(work, '%s.%d.time' % (tag, i))
        timed = ['/usr/bin/time', '-f', '%U %S %M', '-o', tf] \
            if os.path.exists('/usr/bin/time') else []
        procs.append((subprocess.Popen(timed + cmd + ['-l', lst],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE), tf))
    res = {'msgs': 0, 'bytes': 0, 'failed': 0, 'seconds': 0.0, 'cpu_s': 0.0,
           'rss_kb': 0, 'err': ''}
    for p, tf in procs:
        out, err = p.communicate()
        j = last_json(out.decode())
        if j is None:
            res['failed'] += 1
            res['err'] += err.decode()[-300:]
            continue
        for k in ('msgs', 'bytes', 'failed'):
            res[k] += j[k]
        res['seconds'] = max(res['seconds'], j['seconds'])
        res['cpu_s'] += j['cpu_s']
        try:
            res['rss_kb'] = max(res['rss_kb'], int(open(tf).read().split()[-1]))
        except (OSError, ValueError, IndexError):
            pass
    return res


def peer_rows(c, signed):
    files = files_of(c.c['peer'])
    algs = {'dkimpy': ('rsa', 'ed25519'), 'maildkim': ('rsa',),
            'opendkim': ('rsa', 'ed25519')}
    for name in ('dkimpy', 'maildkim', 'opendkim'):
        cmd = peer_cmd(c, name)
        for alg in algs[name]:
            sel = 'rsa' if alg == 'rsa' else 'ed'
            for w in c.workers:
                rid = '%s:sign:%s:peer:j%d' % (name, alg, w)
                if cmd is None:
                    add_row(c, rid, name, 'sign', alg, 'peer', w, 'skipped',
                            note='%s not installed (make bench-deps)' % name)
                    continue
                out = fresh(os.path.join(c.work, '%s-%s-j%d' % (name, alg, w)))
                m = run_sharded(cmd + ['sign', '-a', alg, '-d', DOMAIN,
                                       '-s', sel, '-k',
                                       os.path.join(c.keys, sel + '.private'),
                                       '-H', HEADERS, '-o', out],
                                files, w, rid.replace(':', '_'), c.work)
                if m['failed'] or m['msgs'] != len(files):
                    add_row(c, rid, name, 'sign', alg, 'peer', w, 'failed',
                            note='%d failed %s' % (m['failed'], m['err']))
                    continue
                ok, why = xverify_hanko(c, sample(files_of(out)), c.zone)
                add_row(c, rid, name, 'sign', alg, 'peer', w,
                        'ok' if ok else 'broken', m, xverify=why,
                        bound='write', note='in-process loop, each output '
                        'written to a file; start-up not counted')
                shutil.rmtree(out, ignore_errors=True)
            for w in c.workers:
                rid = '%s:verify:%s:peer:j%d' % (name, alg, w)
                if cmd is None:
                    add_row(c, rid, name, 'verify', alg, 'peer', w, 'skipped',
                            note='%s not installed (make bench-deps)' % name)
                    continue
                if alg not in signed:
                    add_row(c, rid, name, 'verify', alg, 'peer', w, 'failed',
                            note='no hanko-signed corpus to verify')
                    continue
                m = run_sharded(cmd + ['verify', '-q', c.query],
                                files_of(signed[alg]), w,
                                rid.replace(':', '_'), c.work)
                st = 'ok' if m['msgs'] == len(files) and not m['failed'] \
                    else 'broken'
                add_row(c, rid, name, 'verify', alg, 'peer', w, st, m,
                        xverify='verifies hanko-signed input: %d/%d pass' % (
                            m['msgs'] - m['failed'], len(files)),
                        note='in-process loop; start-up not counted')


# --- profile -----------------------------------------------------------------

def profile(c):
    """Where hanko's time goes: perf record (or callgrind) on a small corpus."""
    lines = []
    prof = os.path.join(c.work, 'profile')
    fresh(prof)
    keys = hanko_keys(c, 'rsa')
    if c.batch and c.batch[0]:
        spool = link_tree(c.c['prof'], os.path.join(prof, 'spool'))
        target = [c.hanko, 'sign'] + keys + ['-j', '1', '--no-fsync', spool,
                                             fresh(os.path.join(prof, 'out'))]
        what = 'hanko sign batch -j 1, %d messages' % c.count['prof']
    else:
        lst = write_list(os.path.join(prof, 'list'), files_of(c.c['prof']))
        target = ['sh', '-c', 'while read -r f; do "$0" sign %s < "$f" '
                  '> /dev/null; done < "$1"' % ' '.join(keys), c.hanko, lst]
        what = 'hanko sign filter, %d messages, one process each' % \
            c.count['prof']
    data = os.path.join(prof, 'perf.data')
    comm = os.path.basename(c.hanko)[:15]
    p = sh(['perf', 'record', '-q', '-F', '2000', '-g', '-o', data, '--']
           + target) if shutil.which('perf') else None
    if p is not None and p.returncode == 0:
        rep = sh(['perf', 'report', '-i', data, '--stdio', '--no-children',
                  '--comm', comm, '--sort', 'dso,symbol', '-g', 'none',
                  '--percent-limit', '0.5'])
        top = [re.sub(r'(\s+-)+\s*$', '', l) for l in
               rep.stdout.decode().splitlines()
               if l.strip() and not l.startswith('#')][:30]
        dso = sh(['perf', 'report', '-i', data, '--stdio', '--no-children',
                  '--comm', comm, '--sort', 'dso', '-g', 'none'])
        by_dso = [re.sub(r'(\s+-)+\s*$', '', l) for l in
                  dso.stdout.decode().splitlines()
                  if l.strip() and not l.startswith('#')][:8]
        lines = ['perf record: %s' % what, '', 'by object:'] + by_dso + \
            ['', 'top functions:'] + top
    elif shutil.which('valgrind'):
        f = files_of(c.c['prof'])[0]
        cg = os.path.join(prof, 'callgrind.out')
        with open(f, 'rb') as fh:
            sh(['valgrind', '--tool=callgrind', '--callgrind-out-file=' + cg,
                c.hanko, 'sign'] + keys, stdin=fh)
        rep = sh(['callgrind_annotate', cg])
        lines = ['callgrind: hanko sign filter, one message (perf unusable)']
        lines += rep.stdout.decode().splitlines()[:40]
    else:
        lines = ['no profiler: install linux-perf or valgrind']
    text = '\n'.join(lines) + '\n'
    open(os.path.join(c.out, 'profile.txt'), 'w').write(text)
    print(text)
    return text


# --- report ------------------------------------------------------------------

SECTIONS = [
    ('Bound (read + SHA-256 + one key operation, OpenSSL, T threads; '
     ':write and :durable rows add the output hand-off)',
     lambda r: r['impl'] == 'bound'),
    ('hanko sign, batch', lambda r: r['impl'] == 'hanko batch' and
     'signing_domains' not in r),
    ('hanko sign, batch, OpenDKIM KeyTable (pool of keys, many domains)',
     lambda r: 'signing_domains' in r),
    ('hanko sign, filter mode (one process per message)',
     lambda r: r['impl'] == 'hanko filter'),
    ('hanko sign --deliver to smtp-sink (ratio: to signing into a '
     'directory, same messages, same run)',
     lambda r: r['impl'] == 'hanko deliver'),
    ('Milters behind Postfix, signing (hanko ratio: to OpenDKIM\'s msgs/s; '
     'p50/p99 and the latency added to an unfiltered service in the row)',
     lambda r: r['op'] == 'milter'),
    ('hanko verify', lambda r: r['impl'] == 'hanko'),
    ('Peers: sign', lambda r: r['impl'] in ('dkimpy', 'maildkim', 'opendkim')
     and r['op'] == 'sign'),
    ('Peers: verify', lambda r: r['impl'] in ('dkimpy', 'maildkim',
                                              'opendkim') and r['op'] == 'verify'),
]


def fmt(v, f='%.1f'):
    return '' if v is None else f % v


def goals(c):
    out = []
    for alg in ('rsa', 'ed25519'):
        best = [r for r in c.rows if r['impl'] == 'hanko batch' and
                r['alg'] == alg and r['corpus'] == 'ln' and
                r['workers'] == c.ncpu]
        done = [r for r in best if r['status'] == 'ok' and 'ratio' in r]
        if not done:
            st = 'pending' if any(r['status'] == 'pending' for r in best) \
                else 'not measured'
            out.append({'alg': alg, 'goal': GOAL[alg], 'status': st})
            continue
        r = max(done, key=lambda x: x['ratio'])
        out.append({'alg': alg, 'goal': GOAL[alg], 'best_ratio': r['ratio'],
                    'row': r['id'],
                    'status': 'met' if r['ratio'] >= GOAL[alg] else 'short'})
    return out


def report(c, env, t_start):
    rows = c.rows
    summary = {s: sum(1 for r in rows if r['status'] == s)
               for s in ('ok', 'pending', 'broken', 'failed', 'skipped')}
    doc = {'env': env, 'quick': c.quick, 'seconds': round(time.time() -
                                                          t_start, 1),
           'corpora': {k: {'msgs': c.count[k], 'bytes': c.bytes[k]}
                       for k in c.c}, 'batch_mode': c.batch[1],
           'goals': goals(c), 'summary': summary, 'rows': rows}
    json.dump(doc, open(os.path.join(c.out, 'report.json'), 'w'), indent=1)
    md = ['# hanko benchmark%s' % (' (QUICK: sizes too small for numbers)'
                                   if c.quick else ''), '',
          '%s; %s CPUs; OpenSSL %s; load average at start %s; %s.' % (
              env['host'], env['ncpu'], env['openssl'], env['loadavg'],
              env['date']), '',
          'Ratios to the bound (same corpus, algorithm, operation and thread '
          'count, measured in this run) are the figures to quote; absolute '
          'rates move with the machine\'s load. Each row is divided by its '
          'own bound (column "bound"): "write" (read + hash + sign + write '
          'each output under a temporary name and rename it into place) for '
          '--no-fsync batch rows, filter rows and peer sign rows, "durable" '
          '(the same plus '
          'one syncfs per 64 outputs before their renames and a directory '
          'fsync) for durable batch rows, "core" (read + hash + sign, no '
          'output) for verify; "ratio to core bound" is the older view that '
          'leaves the output out. A batch row\'s own bound is measured '
          'again right before the row (the load of a shared machine drifts '
          'within minutes); the bound rows below are the up-front '
          'measurement. CPU ratio = the bound\'s '
          'CPU seconds per message over the row\'s (the row\'s whole '
          'process for hanko, the timed loop for peers): it holds even when '
          'other work shares the machine, when wall-clock ratios do not. '
          'MB = 10^6 bytes. '
          'Batch mode: %s.' % c.batch[1], '']
    md += ['Corpora: ' + ', '.join('%s %d msgs / %.1f MB' % (
        k, c.count[k], c.bytes[k] / 1e6) for k in sorted(c.c)), '']
    for g in doc['goals']:
        md.append('- goal %s sign >= %.2f of bound: %s%s' % (
            g['alg'], g['goal'], g['status'], ' (best %.3f, %s)' % (
                g['best_ratio'], g['row']) if 'best_ratio' in g else ''))
    if any(g['status'] == 'short' for g in doc['goals']):
        md.append('- short of a goal: `make bench PROFILE=1` shows where '
                  'hanko spends its time (build/bench/profile.txt)')
    md.append('')
    hdr = ('| row | status | msgs | msgs/s | MB/s | ratio to own bound | '
           'bound | ratio to core bound | CPU ratio | peak RSS MB | CPU s | '
           'cross-verified |')
    for title, pred in SECTIONS:
        sel = [r for r in rows if pred(r)]
        if not sel:
            continue
        md += ['## ' + title, '', hdr, '|' + '---|' * 12]
        for r in sel:
            if r['status'] != 'ok':     # a number from a bad run is no result
                r = {k: v for k, v in r.items() if k not in (
                    'msgs_per_s', 'mb_per_s', 'ratio', 'ratio_core',
                    'cpu_ratio')}
            md.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s '
                      '| %s |' % (
                r['id'], r['status'], r.get('msgs', ''),
                fmt(r.get('msgs_per_s')), fmt(r.get('mb_per_s')),
                fmt(r.get('ratio'), '%.3f'), r.get('bound', ''),
                fmt(r.get('ratio_core'), '%.3f'),
                fmt(r.get('cpu_ratio'), '%.3f'),
                fmt(r['peak_rss_kb'] / 1024 if r.get('peak_rss_kb') else None),
                fmt(r.get('cpu_s'), '%.2f'),
                r.get('xverify', r.get('note', ''))))
        md.append('')
    md.append('Summary: %s.' % ', '.join('%d %s' % (v, k)
                                         for k, v in summary.items()))
    open(os.path.join(c.out, 'report.md'), 'w').write('\n'.join(md) + '\n')


def environment(c):
    ossl = sh(['openssl', 'version'])
    return {'host': platform.node(), 'kernel': platform.release(),
            'ncpu': c.ncpu, 'openssl': ossl.stdout.decode().strip()
            if ossl.returncode == 0 else '?',
            'loadavg': open('/proc/loadavg').read().split()[0]
            if os.path.exists('/proc/loadavg') else '?',
            'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
            'hanko': c.hanko}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--profile', action='store_true')
    ap.add_argument('--full', action='store_true',
                    help='every (io, fsync) variant for every algorithm '
                    'and worker count')
    ap.add_argument('--out', default=os.path.join(TOP, 'build', 'bench'))
    ap.add_argument('--hanko', default=os.path.join(TOP, 'build', 'release',
                                                     'hanko'))
    ap.add_argument('--jobs', type=int, default=0,
                    help='"all cores" worker count (default: nproc)')
    a = ap.parse_args()
    c = Ctx(a)
    if not os.access(c.hanko, os.X_OK):
        sys.exit('bench: %s not built (make)' % c.hanko)
    t_start = time.time()
    os.makedirs(c.out, exist_ok=True)
    fresh(c.work)
    env = environment(c)
    build_helpers(c)
    make_keys(c)
    make_corpora(c)
    detect_peers(c)
    all_bounds(c)
    detect_batch(c)
    signed = filter_rows(c)
    kept = batch_matrix(c)
    keytable_rows(c)
    deliver_rows(c)
    milter_rows(c)
    if kept:
        verify_rows(c, kept, 'ln')
    verify_rows(c, signed, 'peer')
    peer_rows(c, signed)
    if a.profile:
        profile(c)
    report(c, env, t_start)
    sh([PY, os.path.join(BENCH, 'plot.py'), os.path.join(c.out, 'report.json'),
        os.path.join(c.out, 'throughput.svg')])
    shutil.rmtree(c.work, ignore_errors=True)
    s = json.load(open(os.path.join(c.out, 'report.json')))['summary']
    log('report: %s/report.md (%s) in %.0fs' % (
        c.out, ', '.join('%d %s' % (v, k) for k, v in s.items()),
        time.time() - t_start))
    return 1 if s['broken'] or s['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
