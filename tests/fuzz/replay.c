/*
 * replay - run a fuzz target's LLVMFuzzerTestOneInput() over files
 * without libFuzzer, so CI can replay the corpora under gcc and the
 * sanitizers. Usage: replay_<target> FILE|DIR...; a directory means
 * every regular file in it, in name order. Each input is passed in a
 * heap block of exactly its size, as libFuzzer does, so an over-read is
 * an ASan report. Prints one line per argument with the count and
 * exits 0, or 1 when a file cannot be read; a target that finds a bug
 * aborts, which is the failure CI sees.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (fp == NULL) {
		perror(path);
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			uint8_t *nb = realloc(buf, cap * 2 + 4096);

			if (nb == NULL) {
				fclose(fp);
				free(buf);
				return -1;
			}
			buf = nb;
			cap = cap * 2 + 4096;
		}
		if ((n = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	fclose(fp);
	/* Exactly len bytes, so reading past the input is caught. */
	{
		uint8_t *exact = malloc(len > 0 ? len : 1);

		if (exact == NULL) {
			free(buf);
			return -1;
		}
		if (len > 0)
			memcpy(exact, buf, len);
		free(buf);
		(void)LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under dir, sorted; the count, or -1. */
static long
run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i;
	long done = 0;

	if (d == NULL) {
		perror(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn =
			    realloc(names, (cap * 2 + 16) * sizeof(*nn));

			if (nn == NULL)
				break;
			names = nn;
			cap = cap * 2 + 16;
		}
		if ((names[n] = strdup(e->d_name)) != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		struct stat sb;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
			if (run_file(path) != 0)
				done = -1;
			else if (done >= 0)
				done++;
		}
		free(names[i]);
	}
	free(names);
	return done;
}

int
main(int argc, char **argv)
{
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		struct stat sb;
		long n;

		if (stat(argv[i], &sb) != 0) {
			perror(argv[i]);
			rc = 1;
			continue;
		}
		n = S_ISDIR(sb.st_mode) ? run_dir(argv[i])
		                        : (run_file(argv[i]) == 0 ? 1 : -1);
		if (n < 0)
			rc = 1;
		else
			printf("%s: %ld inputs replayed\n", argv[i], n);
	}
	return rc;
}
