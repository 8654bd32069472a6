"""Cost of each operation of both crypto suites (federation/crypto), per call and per MB.

`python -m bench.crypto_suites [--rounds 2000]`: signatures (sign, verify), hashes, keyed hashes and
authenticated encryption of a 300-byte value (a record's sensitive field is far smaller).
"""

import argparse
import os
import time
from collections.abc import Callable

from federation.crypto import SUITES


def per_call_us(fn: Callable[[], object], rounds: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    message = os.urandom(300)
    print(f"crypto suites, {args.rounds} rounds each, 300-byte messages")
    print("| suite | sign µs | verify µs | hash µs | hmac µs | seal µs | open µs |")
    print("|---|---|---|---|---|---|---|")
    for name, crypto in SUITES.items():
        pair = crypto.generate_signing_key()
        signature = crypto.sign(pair, message)
        key = os.urandom(crypto.aead_key_bytes)
        sealed = crypto.seal(key, message)
        signing_rounds = max(1, args.rounds // 10)
        row = [
            per_call_us(lambda c=crypto, p=pair: c.sign(p, message), signing_rounds),
            per_call_us(
                lambda c=crypto, p=pair, s=signature: c.verify(p.public, message, s),
                signing_rounds,
            ),
            per_call_us(lambda c=crypto: c.hash(message), args.rounds),
            per_call_us(lambda c=crypto, k=key: c.hmac(k, message), args.rounds),
            per_call_us(lambda c=crypto, k=key: c.seal(k, message), args.rounds),
            per_call_us(lambda c=crypto, k=key, s=sealed: c.open(k, s), args.rounds),
        ]
        print(f"| {name} | " + " | ".join(f"{v:,.1f}" for v in row) + " |")


if __name__ == "__main__":
    main()
