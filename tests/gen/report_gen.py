#!/usr/bin/env python3
"""Make DMARC aggregate reports and the containers they travel in, for
tests/sh/report.sh, and compute expected totals independently of hanko.

  report_gen.py xml ORG ID DOMAIN ROWS > file.xml
      ROWS: ip,count,dkim,spf,header_from[,authdkim_domain:result][;...]
  report_gen.py gzip IN OUT | zip IN OUT [NAME]
  report_gen.py eml OUT ENCODING NESTED FILE...   (ENCODING base64|qp)
  report_gen.py mbox OUT EML...
  report_gen.py totals FILE...   expected per-domain JSON from plain XML
  report_gen.py batch < LINES     one command per line, arguments split
                                  by tabs (one interpreter start for all)
"""
import email.generator
import email.mime.application
import email.mime.multipart
import email.mime.text
import gzip
import io
import json
import quopri
import sys
import xml.etree.ElementTree as ET
import zipfile
from email import encoders


def esc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def make_xml(org, rid, domain, rows):
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">',
           "<version>1.0</version>",
           "<report_metadata><org_name>%s</org_name>" % esc(org),
           "<email>dmarc@%s</email>" % esc(org.split()[0] or "x.example"),
           "<report_id>%s</report_id>" % esc(rid),
           "<date_range><begin>1700000000</begin><end>1700086399</end>"
           "</date_range></report_metadata>",
           "<policy_published><domain>%s</domain><p>none</p>"
           "</policy_published>" % esc(domain)]
    for r in rows.split(";"):
        f = r.split(",")
        ip, count, dkim, spf, hfrom = f[:5]
        out.append("<record><row><source_ip>%s</source_ip><count>%s</count>"
                   "<policy_evaluated><disposition>none</disposition>"
                   "<dkim>%s</dkim><spf>%s</spf></policy_evaluated></row>"
                   "<identifiers><header_from>%s</header_from></identifiers>"
                   "<auth_results>" % (ip, count, dkim, spf, esc(hfrom)))
        for a in f[5:]:
            d, res = a.split(":")
            out.append("<dkim><domain>%s</domain><result>%s</result></dkim>"
                       % (d, res))
        out.append("<spf><domain>%s</domain><result>%s</result></spf>"
                   "</auth_results></record>" % (hfrom, spf))
    out.append("</feedback>")
    return "\n".join(out) + "\n"


def make_eml(encoding, nested, files):
    outer = email.mime.multipart.MIMEMultipart("mixed")
    outer["From"] = "dmarc@reporter.example"
    outer["To"] = "rua@example.com"
    outer["Subject"] = "Report Domain: example.com"
    outer.attach(email.mime.text.MIMEText("A report is attached.\n"))
    holder = outer
    if nested:
        holder = email.mime.multipart.MIMEMultipart("alternative")
        holder.attach(email.mime.text.MIMEText("nested\n"))
        outer.attach(holder)
    for fn in files:
        data = open(fn, "rb").read()
        sub = "xml" if data.lstrip().startswith(b"<") else "gzip"
        part = email.mime.application.MIMEApplication(
            data, sub, _encoder=encoders.encode_noop)
        if encoding == "base64":
            encoders.encode_base64(part)
        else:
            part.set_payload(quopri.encodestring(data).decode("ascii"))
            part["Content-Transfer-Encoding"] = "quoted-printable"
        part.add_header("Content-Disposition", "attachment",
                        filename=fn.rsplit("/", 1)[-1])
        holder.attach(part)
    buf = io.StringIO()
    email.generator.Generator(buf, mangle_from_=False).flatten(outer)
    return buf.getvalue()


def local(tag):
    return tag.rsplit("}", 1)[-1]


def find(e, name):
    for c in e:
        if local(c.tag) == name:
            return c
    return None


def totals(files):
    seen = set()
    dom = {}
    for fn in files:
        root = ET.parse(fn).getroot()
        md = find(root, "report_metadata")
        key = (find(md, "org_name").text, find(md, "report_id").text)
        if key in seen:
            continue
        seen.add(key)
        for rec in root:
            if local(rec.tag) != "record":
                continue
            row = find(rec, "row")
            pe = find(row, "policy_evaluated")
            n = int(find(row, "count").text)
            hf = find(find(rec, "identifiers"), "header_from").text.lower()
            dk = find(pe, "dkim").text.lower() == "pass"
            sp = find(pe, "spf").text.lower() == "pass"
            d = dom.setdefault(hf, {"messages": 0, "dmarc_pass": 0,
                                    "dkim_aligned": 0, "spf_aligned": 0})
            d["messages"] += n
            d["dmarc_pass"] += n if dk or sp else 0
            d["dkim_aligned"] += n if dk else 0
            d["spf_aligned"] += n if sp else 0
    return dom


def main(a):
    if a[0] == "xml":
        sys.stdout.write(make_xml(a[1], a[2], a[3], a[4]))
    elif a[0] == "gzip":
        open(a[2], "wb").write(gzip.compress(open(a[1], "rb").read()))
    elif a[0] == "zip":
        with zipfile.ZipFile(a[2], "w", zipfile.ZIP_DEFLATED) as z:
            z.write(a[1], a[3] if len(a) > 3 else "report.xml")
    elif a[0] == "eml":
        open(a[1], "w").write(make_eml(a[2], a[3] == "1", a[4:]))
    elif a[0] == "mbox":
        with open(a[1], "w") as out:
            for fn in a[2:]:
                out.write("From dmarc@reporter.example Thu Jan  1 00:00:00"
                          " 2026\n")
                for line in open(fn):
                    out.write(">" + line if line.startswith("From ")
                              else line)
                out.write("\n")
    elif a[0] == "totals":
        json.dump(totals(a[1:]), sys.stdout, sort_keys=True)
    elif a[0] == "batch":
        for line in sys.stdin:
            f = line.rstrip("\n").split("\t")
            if f[0] == "xml":
                open(f[1], "w").write(make_xml(*f[2:6]))
            elif f[0] == "totals":
                open(f[1], "w").write(json.dumps(totals(f[2:])))
            elif f[0]:
                main(f)
    else:
        sys.exit("unknown command " + a[0])


main(sys.argv[1:])
