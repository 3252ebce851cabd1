/* SPDX-License-Identifier: ISC */
/* Minimal HTML pages with no outside assets; see pns_html.h. */
#include <string.h>

#include "pns_html.h"
#include "banned.h"

int
pns_html_escape(struct pns_buf *b, const char *s, struct pns_err *err)
{
	const char	*rep;
	size_t		 run;

	while (*s != '\0') {
		run = strcspn(s, "&<>\"'");
		if (pns_buf_add(b, s, run, err) == -1)
			return -1;
		s += run;
		if (*s == '\0')
			break;
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		default:
			rep = "&#39;";
			break;
		}
		if (pns_buf_adds(b, rep, err) == -1)
			return -1;
		s++;
	}
	return 0;
}

int
pns_html_head(struct pns_buf *b, const char *title, struct pns_err *err)
{
	if (pns_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>", err) == -1 ||
	    pns_html_escape(b, title, err) == -1 ||
	    pns_buf_adds(b, "</title><style>body{font-family:sans-serif;"
	    "max-width:40em;margin:2em auto}th{text-align:left;padding-right:1em}"
	    ".err{color:#a00}</style></head><body>\n", err) == -1)
		return -1;
	return 0;
}

int
pns_html_foot(struct pns_buf *b, struct pns_err *err)
{
	return pns_buf_adds(b, "</body></html>\n", err);
}
