/* SPDX-License-Identifier: ISC */
/* HTML output: every string that did not come from the program itself
 * goes through pns_html_escape. */
#ifndef PNS_HTML_H
#define PNS_HTML_H

#include "pns_err.h"
#include "pns_util.h"

/* Appends s with & < > " ' escaped. */
int	pns_html_escape(struct pns_buf *b, const char *s, struct pns_err *err);

/* Appends the page head (title escaped) and the page foot. */
int	pns_html_head(struct pns_buf *b, const char *title, struct pns_err *err);
int	pns_html_foot(struct pns_buf *b, struct pns_err *err);

#endif
