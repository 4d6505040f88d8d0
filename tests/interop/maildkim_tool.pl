#!/usr/bin/perl
# Sign and verify with Debian's libmail-dkim-perl (Mail::DKIM) for
# tests/sh/interop_maildkim.sh. RSA only (Mail::DKIM 1.20230212 has no Ed25519).
#
#   maildkim_tool.pl sign -d DOMAIN -s SELECTOR -k KEYFILE -c HEADER/BODY
#                         -o OUTDIR FILE...
#       Write OUTDIR/<basename of FILE>: one DKIM-Signature field, then FILE
#       unchanged. Every header field present is signed (Headers => all
#       names). The field uses the message's own line ending.
#
#   maildkim_tool.pl verify -z ZONE FILE...
#       Verify every DKIM-Signature of each FILE, keys from the master file
#       ZONE (no network: Mail::DKIM::DNS::resolver() is given an object whose
#       send() answers from the zone, read with Net::DNS::ZoneFile). Prints
#           pass FILE            every signature (at least one) passed
#           fail FILE REASON     otherwise
#       Exit 0 when every FILE passed, 1 otherwise.
#
# Line endings: Mail::DKIM wants the message as it is on the wire, CRLF
# terminated (its own dkimverify.pl rewrites every line to CRLF). Each bare LF
# is turned into CRLF before PRINT, for signing and verifying alike, and a
# final line without a terminator gets CRLF, as SMTP DATA would carry it.
# That last step matters: Mail::DKIM's "simple" body canonicalization adds the
# missing final CRLF only to an empty body, not to a body whose last line is
# unterminated (RFC 6376 3.4.3: "If there is no body or no trailing CRLF on
# the message body, a CRLF is added"), so fed raw such a body hashes
# differently from hanko and dkimpy (which follow the RFC).
use strict;
use warnings;
use File::Basename qw(basename);
use Getopt::Long qw(GetOptionsFromArray);
use Mail::DKIM::Signer;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;
use Net::DNS::ZoneFile;

package ZoneResolver;

sub new {
	my ($class, $path) = @_;
	my %rr;
	my $zf = Net::DNS::ZoneFile->new($path);
	while (my $rr = $zf->read) {
		push @{ $rr{ lc $rr->owner }{ uc $rr->type } }, $rr;
	}
	return bless { rr => \%rr, err => 'NOERROR' }, $class;
}

sub send {
	my ($self, $name, $type) = @_;
	$name = lc $name;
	$name =~ s/\.$//;
	my $pkt = Net::DNS::Packet->new($name, $type, 'IN');
	my $node = $self->{rr}{$name};
	$pkt->header->qr(1);
	$pkt->header->rcode($node ? 'NOERROR' : 'NXDOMAIN');
	$pkt->push(answer => @{ $node->{ uc $type } || [] }) if $node;
	return $pkt;
}

sub errorstring { return $_[0]{err} }

package main;

sub slurp {
	my ($path) = @_;
	open my $fh, '<:raw', $path or die "$path: $!\n";
	local $/;
	my $d = <$fh>;
	return $d;
}

sub wire {
	my ($m) = @_;
	$m =~ s/(?<!\r)\n/\r\n/g;
	$m .= "\r\n" if $m ne '' && $m !~ /\n\z/;
	return $m;
}

sub header_names {
	my ($m) = @_;
	my ($head) = split /\r?\n\r?\n/, $m, 2;
	my @n;
	for (split /\r?\n/, $head) {
		push @n, $1 if /^([^ \t:]+):/;
	}
	return join ':', @n;
}

sub cmd_sign {
	my @a = @_;
	my %o = (c => 'relaxed/relaxed');
	GetOptionsFromArray(\@a, \%o, 'd=s', 's=s', 'k=s', 'c=s', 'o=s')
	  or die "bad arguments\n";
	my $rc = 0;
	for my $path (@a) {
		my $msg = slurp($path);
		my $sigfield = eval {
			my $dkim = Mail::DKIM::Signer->new(
				Algorithm => 'rsa-sha256',
				Method    => $o{c},
				Domain    => $o{d},
				Selector  => $o{s},
				KeyFile   => $o{k},
				Headers   => header_names($msg),
			);
			$dkim->PRINT(wire($msg));
			$dkim->CLOSE;
			$dkim->signature->as_string;
		};
		if (!defined $sigfield) {
			print STDERR "$path: Mail::DKIM sign failed: $@";
			$rc = 1;
			next;
		}
		my $eol = $msg =~ /\r\n/ ? "\r\n" : "\n";
		$sigfield =~ s/\r?\n/$eol/g;
		open my $out, '>:raw', "$o{o}/" . basename($path) or die "$!\n";
		print $out $sigfield, $eol, $msg;
		close $out;
	}
	return $rc;
}

sub cmd_verify {
	my @a = @_;
	my %o;
	GetOptionsFromArray(\@a, \%o, 'z=s') or die "bad arguments\n";
	Mail::DKIM::DNS::resolver(ZoneResolver->new($o{z}));
	my $rc = 0;
	for my $path (@a) {
		my $reason = '';
		eval {
			my $dkim = Mail::DKIM::Verifier->new();
			$dkim->PRINT(wire(slurp($path)));
			$dkim->CLOSE;
			my @sigs = $dkim->signatures;
			$reason = 'no DKIM-Signature' unless @sigs;
			for my $i (0 .. $#sigs) {
				my $r = $sigs[$i]->result || 'none';
				next if $r eq 'pass';
				$reason = "signature $i: " . ($sigs[$i]->result_detail || $r);
				last;
			}
			1;
		} or $reason = "exception: $@";
		$reason =~ s/\s+/ /g;
		if ($reason ne '') {
			print "fail $path $reason\n";
			$rc = 1;
		} else {
			print "pass $path\n";
		}
	}
	return $rc;
}

my $cmd = shift @ARGV // '';
exit cmd_sign(@ARGV) if $cmd eq 'sign';
exit cmd_verify(@ARGV) if $cmd eq 'verify';
die "usage: maildkim_tool.pl sign|verify ...\n";
