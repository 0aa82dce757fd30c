#!/usr/bin/env python3
"""Extract NimBLE's recorded LE Secure Connections pairings into ward's vector format.

Input: apache/mynewt-nimble nimble/host/test/src/ble_sm_sc_test.c (Apache-2.0).
Each TEST_CASE_SELF there is one complete pairing that NimBLE's own SMP ran,
with the private key and the nonces of NimBLE's side. We keep the cases with
public identity addresses on both sides (iat0_rat0), and write them as text
(tests/vectors/ble/nimble-sc.txt) that tests/unit/ble/test_smp_nimble.c
replays into ward's engine in NimBLE's role: ward must send exactly the
bytes NimBLE sent.

  nimble_sc_extract.py ble_sm_sc_test.c COMMIT > nimble-sc.txt

Format, one item per line, values hex, least significant octet first as on
the air (as NimBLE stores them):
  case NAME / role initiator|responder (the side ward plays) / alg jw|pk|nc
  init_addr, resp_addr (6 bytes), pair_req, pair_rsp (7 bytes, opcode first)
  priv (32 bytes as NimBLE holds it), pk_req, pk_rsp (X||Y)
  confirm_req I, confirm_rsp I, random_req I, random_rsp I (I = round)
  dhkey_req, dhkey_rsp, ltk, passkey ACTION VALUE, numcmp VALUE
  expect fail (NimBLE expects this pairing to fail) / end
"""
import re
import sys


def arr(text):
    return [int(x, 16) for x in re.findall(r'0x([0-9a-fA-F]{2})\b', text)]


def block(body, name):
    """Text of `.name = { ... }` with balanced braces, or None."""
    m = re.search(r'\.' + re.escape(name) + r'\s*=\s*\{', body)
    if not m:
        return None
    i, depth = m.end(), 1
    while depth:
        depth += {'{': 1, '}': -1}.get(body[i], 0)
        i += 1
    return body[m.end():i - 1]


def hexs(b):
    return ' '.join('%02x' % x for x in b)


def main():
    src = open(sys.argv[1]).read()
    commit = sys.argv[2] if len(sys.argv) > 2 else 'unknown'
    print('# LE Secure Connections pairings recorded by NimBLE\'s SMP, extracted by')
    print('# tests/vectors/ble/nimble_sc_extract.py from apache/mynewt-nimble')
    print('# nimble/host/test/src/ble_sm_sc_test.c at commit %s (Apache-2.0).' % commit)
    print('# Replayed by tests/unit/ble/test_smp_nimble.c.')
    parts = re.split(r'/\*\*\s*\n \* Secure connections pairing', src)[1:]
    for part in parts:
        head, _, body = part.partition('TEST_CASE_SELF(')
        name = body[:body.index(')')]
        if '_iat0_rat0_' not in name:
            continue
        master = re.search(r'Master: (\w+)', head).group(1)
        role = 'responder' if master == 'peer' else 'initiator'
        alg = {'BLE_SM_PAIR_ALG_JW': 'jw', 'BLE_SM_PAIR_ALG_PASSKEY': 'pk',
               'BLE_SM_PAIR_ALG_NUMCMP': 'nc'}[re.search(r'\.pair_alg = (\w+)', body).group(1)]
        print('case %s' % name)
        print('role %s' % role)
        print('alg %s' % alg)
        print('init_addr %s' % hexs(arr(block(body, 'init_id_addr'))))
        print('resp_addr %s' % hexs(arr(block(body, 'resp_id_addr'))))
        for op, f in ((1, 'pair_req'), (2, 'pair_rsp')):
            b = block(body, f)
            vals = [int(re.search(r'\.' + k + r'\s*=\s*0x([0-9a-fA-F]+)', b).group(1), 16)
                    for k in ('io_cap', 'oob_data_flag', 'authreq', 'max_enc_key_size',
                              'init_key_dist', 'resp_key_dist')]
            print('%s %s' % (f, hexs([op] + vals)))
        print('priv %s' % hexs(arr(block(body, 'our_priv_key'))))
        for f, out in (('public_key_req', 'pk_req'), ('public_key_rsp', 'pk_rsp')):
            b = block(body, f)
            print('%s %s' % (out, hexs(arr(block(b, 'x')) + arr(block(b, 'y')))))
        for f in ('confirm_req', 'confirm_rsp', 'random_req', 'random_rsp'):
            for m in re.finditer(r'\.' + f + r'\[(\d+)\]\s*=\s*\{', body):
                b = block(body[m.start():], '%s[%s]' % (f, m.group(1)))
                print('%s %s %s' % (f, m.group(1), hexs(arr(b))))
        print('dhkey_req %s' % hexs(arr(block(block(body, 'dhkey_check_req'), 'value'))))
        print('dhkey_rsp %s' % hexs(arr(block(block(body, 'dhkey_check_rsp'), 'value'))))
        print('ltk %s' % hexs(arr(block(body, 'ltk'))))
        act = re.search(r'\.action = BLE_SM_IOACT_(\w+)', body).group(1).lower()
        pk = re.search(r'\.passkey = (\d+)', body)
        print('passkey %s %s' % (act, pk.group(1) if pk else '0'))
        nc = re.search(r'\.exp_numcmp = (\d+)', body)
        if nc:
            print('numcmp %s' % nc.group(1))
        if '_sc_bad(' in body[:body.index('TEST_CASE_SELF') if 'TEST_CASE_SELF' in body else len(body)]:
            print('expect fail')
        print('end')


if __name__ == '__main__':
    main()
