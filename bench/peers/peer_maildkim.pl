#!/usr/bin/perl
# Mail::DKIM (Debian libmail-dkim-perl) driven in one process, for
# bench/run.py. RSA only: Mail::DKIM 1.20230212 has no Ed25519.
#
#   peer_maildkim.pl sign -a rsa -d DOMAIN -s SELECTOR -k KEYFILE
#                    -H NAME:NAME:... -o OUTDIR -l LISTFILE
#   peer_maildkim.pl verify -q QUERYFILE -l LISTFILE
#
# Same interface and JSON output as peer_opendkim.c. Keys for verify come
# from QUERYFILE ("name<TAB>record") through a resolver object that
# answers Mail::DKIM's DNS queries locally. The message is given to
# Mail::DKIM as on the wire (bare LF -> CRLF, final CRLF added), as its own
# dkimsign.pl/dkimverify.pl do; that conversion is inside the timed loop.
use strict;
use warnings;
use File::Basename qw(basename);
use Getopt::Long qw(GetOptionsFromArray);
use Mail::DKIM::Signer;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;
use Time::HiRes qw(time);

package QueryFileResolver;

sub new {
	my ($class, $path) = @_;
	my %rec;
	open my $fh, '<', $path or die "$path: $!\n";
	while (<$fh>) {
		chomp;
		my ($n, $r) = split /\t/, $_, 2;
		$rec{ lc $n } = $r;
	}
	return bless { rec => \%rec }, $class;
}

sub send {
	my ($self, $name, $type) = @_;
	$name = lc $name;
	$name =~ s/\.$//;
	my $pkt = Net::DNS::Packet->new($name, $type, 'IN');
	$pkt->header->qr(1);
	my $r = $self->{rec}{$name};
	$pkt->header->rcode(defined $r ? 'NOERROR' : 'NXDOMAIN');
	if (defined $r) {
		my @chunks = unpack '(A255)*', $r;
		$pkt->push(answer => Net::DNS::RR->new(name => $name,
		    type => 'TXT', txtdata => \@chunks));
	}
	return $pkt;
}

sub errorstring { return 'NOERROR' }

package main;

sub slurp {
	my ($path) = @_;
	open my $fh, '<:raw', $path or die "$path: $!\n";
	local $/;
	my $d = <$fh>;
	return $d // '';
}

sub wire {
	my ($m) = @_;
	$m =~ s/(?<!\r)\n/\r\n/g;
	$m .= "\r\n" if $m ne '' && $m !~ /\n\z/;
	return $m;
}

sub cpu { my @t = times; return $t[0] + $t[1] }

my $mode = shift @ARGV // '';
my %o = (a => 'rsa');
GetOptionsFromArray(\@ARGV, \%o, 'a=s', 'd=s', 's=s', 'k=s', 'H=s', 'o=s',
    'l=s', 'q=s') or die "bad arguments\n";
open my $lf, '<', $o{l} or die "$o{l}: $!\n";
my @files = grep { length } map { chomp; $_ } <$lf>;
my ($bytes, $failed) = (0, 0);
my ($c0, $t0);
if ($mode eq 'sign') {
	die "Mail::DKIM: RSA only\n" unless $o{a} eq 'rsa';
	my %want = map { lc($_) => 1 } split /:/, $o{H};
	my $key = Mail::DKIM::PrivateKey->load(File => $o{k});
	($c0, $t0) = (cpu(), time);
	for my $path (@files) {
		my $msg = slurp($path);
		$bytes += length $msg;
		my ($head) = split /\r?\n\r?\n/, $msg, 2;
		my @names = grep { $want{ lc $_ } }
		    map { /^([^ \t:]+):/ ? $1 : () } split /\r?\n/, $head;
		my $sig = eval {
			my $dkim = Mail::DKIM::Signer->new(
				Algorithm => 'rsa-sha256',
				Method    => 'relaxed/relaxed',
				Domain    => $o{d},
				Selector  => $o{s},
				Key       => $key,
				Headers   => join(':', @names),
			);
			$dkim->PRINT(wire($msg));
			$dkim->CLOSE;
			$dkim->signature->as_string;
		};
		if (!defined $sig) {
			$failed++;
			print STDERR "$path: $@";
			next;
		}
		my $eol = $msg =~ /\r\n/ ? "\r\n" : "\n";
		$sig =~ s/\r?\n/$eol/g;
		open my $out, '>:raw', "$o{o}/" . basename($path) or die "$!\n";
		print $out $sig, $eol, $msg;
		close $out;
	}
} elsif ($mode eq 'verify') {
	Mail::DKIM::DNS::resolver(QueryFileResolver->new($o{q}));
	($c0, $t0) = (cpu(), time);
	for my $path (@files) {
		my $msg = slurp($path);
		$bytes += length $msg;
		my $ok = eval {
			my $dkim = Mail::DKIM::Verifier->new();
			$dkim->PRINT(wire($msg));
			$dkim->CLOSE;
			my @sigs = $dkim->signatures;
			@sigs && !grep { ($_->result // '') ne 'pass' } @sigs;
		};
		$failed++ unless $ok;
	}
} else {
	die "usage: peer_maildkim.pl sign|verify ...\n";
}
printf "{\"msgs\":%d,\"bytes\":%d,\"failed\":%d,\"seconds\":%.4f,\"cpu_s\":%.3f}\n",
    scalar @files, $bytes, $failed, time - $t0, cpu() - $c0;
exit($failed ? 1 : 0);
