/* ward demo: the credential vault chapter. */
#include "demo_priv.h"

bool demo_vault_story(demo_t *d)
{
    demo_note(d, "(the credential vault chapter arrives with src/vault)");
    return true;
}
