/* ward simulator: the power domain shared by flash, OTP and HSM. */
#include "ward/sim.h"

void ward_sim_power_cut_after(ward_sim_power_t *p, uint64_t n, bool torn)
{
    p->cut_at = n == 0u ? 0u : p->ops + n;
    p->torn = torn;
}

void ward_sim_power_on(ward_sim_power_t *p)
{
    p->dead = false;
    p->cut_at = 0;
    p->torn = false;
}

ward_sim_gate_t ward_sim_power_gate(ward_sim_power_t *p)
{
    if (p == NULL) {
        return WARD_SIM_GO;
    }
    if (p->dead) {
        return WARD_SIM_DEAD;
    }
    p->ops++;
    if (p->cut_at != 0u && p->ops >= p->cut_at) {
        p->dead = true;
        p->cuts++;
        return p->torn ? WARD_SIM_TORN : WARD_SIM_CUT;
    }
    return WARD_SIM_GO;
}
