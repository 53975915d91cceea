/* cli/commands.h: one entry point per subcommand (cli/cmd_<name>.c).
 * Each returns 0 or a negative PR_E_* code with err filled; main prints it. */
#ifndef PR_CLI_COMMANDS_H
#define PR_CLI_COMMANDS_H

#include "core/err.h"

int cmd_fit(int argc, char **argv, pr_error *err);
int cmd_eval(int argc, char **argv, pr_error *err);
int cmd_recommend(int argc, char **argv, pr_error *err);
int cmd_similar(int argc, char **argv, pr_error *err);
int cmd_info(int argc, char **argv, pr_error *err);
int cmd_models(int argc, char **argv, pr_error *err);
int cmd_encode(int argc, char **argv, pr_error *err);
int cmd_add_item(int argc, char **argv, pr_error *err);
int cmd_explain(int argc, char **argv, pr_error *err);

#endif
