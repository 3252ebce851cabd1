/* SPDX-License-Identifier: ISC */
/*
 * The read-and-answer ceiling of the benchmark: a FastCGI program that
 * reads the whole request body and answers 200 with a fixed JSON body,
 * without parsing, verifying or storing anything.  Run under the same
 * lighttpd configuration as notices.fcgi, it shows what the web server,
 * the FastCGI protocol and the load generator cost on their own, so
 * that what notices.fcgi adds on top can be told apart from them.
 */
#include <stdio.h>
#include <string.h>

#include <fcgiapp.h>

static const char	answer[] = "{\"notices\":[]}\n";

int
main(void)
{
	FCGX_Request	req;
	char		buf[65536];
	char		head[160];
	int		n;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		/* Drain the body as notices.fcgi does: every byte crosses
		 * the FastCGI socket whatever the answer. */
		while (FCGX_GetStr(buf, (int)sizeof(buf), req.in) > 0)
			;
		n = snprintf(head, sizeof(head), "Status: 200 OK\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n", sizeof(answer) - 1);
		(void)FCGX_PutStr(head, n, req.out);
		(void)FCGX_PutStr(answer, (int)sizeof(answer) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
