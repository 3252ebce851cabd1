/* SPDX-License-Identifier: ISC */
/* pnsctl platform add|list: platform registrations. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "pns_platform.h"
#include "pnsctl.h"
#include "banned.h"

static const char add_usage[] = "platform add --issuer URL --client-id ID "
    "--auth-url URL --token-url URL --jwks-url URL [--deployment ID]...";

/* Option rows: name, destination field and the check its value needs. */
enum check { C_URL, C_ID };

struct opt_field {
	const char	*name;
	size_t		 off;
	size_t		 size;
	enum check	 check;
};

#define F(n, m, c) { n, offsetof(struct pns_platform, m), \
	sizeof(((struct pns_platform *)0)->m), c }

static const struct opt_field fields[] = {
	F("issuer", issuer, C_URL),
	F("client-id", client_id, C_ID),
	F("auth-url", auth_url, C_URL),
	F("token-url", token_url, C_URL),
	F("jwks-url", jwks_url, C_URL),
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

int
cmd_platform_add(const struct pns_config *cfg, int argc, char **argv)
{
	struct option		 longopts[NFIELDS + 2];
	struct pns_platform	 p;
	struct pns_err		 err;
	const struct opt_field	*f;
	char			*dst;
	size_t			 i;
	int			 ch, idx, rc = 1;

	memset(longopts, 0, sizeof(longopts));
	for (i = 0; i < NFIELDS; i++) {
		longopts[i].name = fields[i].name;
		longopts[i].has_arg = required_argument;
		longopts[i].val = (int)i;
	}
	longopts[NFIELDS].name = "deployment";
	longopts[NFIELDS].has_arg = required_argument;
	longopts[NFIELDS].val = (int)NFIELDS;

	pns_platform_init(&p);
	pns_err_clear(&err);
	/* getopt wants argv[0] to be the program; ours is the verb. */
	optind = 0;
	while ((ch = getopt_long(argc + 1, argv - 1, "", longopts, &idx)) != -1) {
		if (ch == (int)NFIELDS) {
			if (pns_platform_add_deployment(&p, optarg, &err) == -1) {
				rc = pnsctl_fail("--deployment: %s", err.msg);
				goto out;
			}
			continue;
		}
		if (ch < 0 || ch >= (int)NFIELDS) {
			rc = pnsctl_usage(add_usage);
			goto out;
		}
		f = &fields[ch];
		if ((f->check == C_URL && !pns_url_valid(optarg)) ||
		    (f->check == C_ID && !pns_id_valid(optarg)) ||
		    strlen(optarg) >= f->size) {
			rc = pnsctl_fail("--%s: %s", f->name, f->check == C_URL ?
			    "not an http(s) URL" : "not a usable id");
			goto out;
		}
		dst = (char *)&p + f->off;
		memcpy(dst, optarg, strlen(optarg) + 1);
	}
	if (optind != argc + 1) {
		rc = pnsctl_usage(add_usage);
		goto out;
	}
	for (i = 0; i < NFIELDS; i++)
		if (((char *)&p + fields[i].off)[0] == '\0') {
			(void)fprintf(stderr, "pnsctl: --%s is required\n",
			    fields[i].name);
			rc = pnsctl_usage(add_usage);
			goto out;
		}
	if (pns_platform_save(cfg, &p, &err) == -1) {
		rc = pnsctl_fail("%s", err.msg);
		goto out;
	}
	(void)printf("platform %s client %s registered\n", p.issuer,
	    p.client_id);
	rc = 0;
out:
	pns_platform_release(&p);
	return rc;
}

static int
print_one(const struct pns_platform *p, void *arg)
{
	struct json_object	*arr = arg, *o;
	size_t			 i;

	if (arr == NULL) {
		/* How and when: "manual" (pnsctl platform add) or "dynamic"
		 * (lti.cgi/register); a later registration of the same
		 * issuer and client id shows as "updated". */
		(void)printf("%s\t%s\t%s\t%zu deployment(s)\t%s %s",
		    pnsctl_text(p->issuer), pnsctl_text(p->client_id),
		    pnsctl_text(p->jwks_url), p->ndeployments,
		    p->registered_by[0] != '\0' ? p->registered_by : "manual",
		    p->registered_at[0] != '\0' ? p->registered_at : "-");
		if (p->updated_at[0] != '\0' &&
		    strcmp(p->updated_at, p->registered_at) != 0)
			(void)printf(", updated %s", p->updated_at);
		(void)printf("\n");
		for (i = 0; i < p->ndeployments; i++)
			(void)printf("\tdeployment %s\n",
			    pnsctl_text(p->deployments[i]));
		return 0;
	}
	if ((o = pns_platform_json(p)) == NULL)
		return -1;
	json_object_array_add(arr, o);
	return 0;
}

int
cmd_platform_list(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*arr = NULL;
	struct pns_err		 err;
	int			 json = 0, rc = 0;

	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		json = 1;
	else if (argc != 0)
		return pnsctl_usage("platform list [--json]");
	if (json && (arr = json_object_new_array()) == NULL)
		return pnsctl_fail("out of memory");
	pns_err_clear(&err);
	if (pns_platform_foreach(cfg, print_one, arr, &err) == -1)
		rc = pnsctl_fail("%s", err.msg);
	else if (json)
		(void)printf("%s\n", json_object_to_json_string_ext(arr,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return rc;
}
