/* cli_sec.h -- the security commands: accounts, API tokens, the audit log
 * and a directory sign-in test.
 *
 *   tilannekuva user add --data DIR --user NAME --role ROLE
 *                        --scope UNIT[,UNIT...] (--password-stdin |
 *                        --no-password)
 *   tilannekuva user list --data DIR
 *   tilannekuva user disable|enable --data DIR --user NAME
 *   tilannekuva user passwd --data DIR --user NAME --password-stdin
 *   tilannekuva user set --data DIR --user NAME --role ROLE --scope UNITS
 *   tilannekuva token create --data DIR --user NAME [--expires 30d]
 *   tilannekuva token list --data DIR [--user NAME]
 *   tilannekuva token revoke --data DIR (--id N | --user NAME --all)
 *   tilannekuva audit verify --data DIR [--expect COUNT:HEAD]
 *   tilannekuva audit checkpoint --data DIR
 *   tilannekuva audit who-viewed --data DIR (--hetu CODE | --hetu-stdin)
 *                                [--csv]
 *   tilannekuva audit user-activity --data DIR --user NAME [--csv]
 *   tilannekuva auth ldap-test (--data DIR | --config FILE) --user NAME
 *                              --password-stdin
 *
 * Each entry point takes argv with argv[0] = the command name ("user",
 * "token", "audit", "auth") and returns the exit code: 0 ok, 1 failure
 * (for audit verify: the log is broken; for ldap-test: sign-in refused),
 * 2 usage. Account and token changes are themselves written to the audit
 * log (user "os:LOGIN", role "cli").
 *
 * Not thread-safe (commands run on main's thread). */
#ifndef TK_CLI_SEC_H
#define TK_CLI_SEC_H

int cli_sec_user_main(int argc, char **argv);
int cli_sec_token_main(int argc, char **argv);
int cli_sec_audit_main(int argc, char **argv);
int cli_sec_auth_main(int argc, char **argv);

#endif
