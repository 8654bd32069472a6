"""Known-answer tests of both crypto suites (published vectors), and the suites' contract."""

import pytest

from federation.crypto import DecryptionFailed, KeyPair, suite
from federation.crypto.suites import NONCE_BYTES, DefaultSuite, SmSuite

h = bytes.fromhex


# --- default suite: RFC 8032, FIPS 180-2, RFC 4231, the GCM specification --------------------


def test_ed25519_rfc8032_test_1() -> None:
    private = h("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    public = h("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = h(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701"
        "cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    ed = DefaultSuite()
    assert ed.sign(KeyPair(private, public), b"") == signature
    assert ed.verify(public, b"", signature)
    assert not ed.verify(public, b"x", signature)


def test_sha256_and_hmac_sha256_vectors() -> None:
    ed = DefaultSuite()
    assert ed.hash(b"abc") == h("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    # RFC 4231, test case 1
    assert ed.hmac(b"\x0b" * 20, b"Hi There") == h(
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )


def test_aes_gcm_test_case_15_opens() -> None:
    # The GCM specification (McGrew & Viega), test case 15: AES-256, no AAD.
    key = h("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
    nonce = h("cafebabefacedbaddecaf888")
    plaintext = h(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
        "49a6b525b16aedf5aa0de657ba637b391aafd255"
    )
    ciphertext = h(
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
        "56828838c5f61e6393ba7a0abcc9f662898015ad"
    )
    tag = h("b094dac5d93471bdec1a502270e3cc6c")
    assert DefaultSuite().open(key, nonce + ciphertext + tag) == plaintext


# --- national suite: GB/T 32905 (SM3), GB/T 32907 (SM4), RFC 8998 (SM4-GCM), GM/T 0003 (SM2) ----


def test_sm3_vectors() -> None:
    sm = SmSuite()
    assert sm.hash(b"abc") == h("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    assert sm.hash(b"abcd" * 16) == h(
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_sm4_gcm_rfc8998_vector_opens() -> None:
    key = h("0123456789abcdeffedcba9876543210")
    nonce = h("00001234567800000000abcd")
    aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    plaintext = h(
        "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccddddddddddddddddeeeeeeeeeeeeeeeeffffffff"
        "ffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa"
    )
    ciphertext = h(
        "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735d82710ca5c22f0ccfa7cbf93"
        "d496ac15a56834cbcf98c397b4024a2691233b8d"
    )
    tag = h("83de3541e4c2b58177e065a9bf7b62ec")
    assert SmSuite().open(key, nonce + ciphertext + tag, aad) == plaintext


def test_sm2_gmt_0003_signature_verifies() -> None:
    # GM/T 0003.5-2012 / GB/T 32918.5, the signature example on the recommended curve:
    # message "message digest", default signer id 1234567812345678.
    public = h(
        "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
        "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
    )
    r = h("f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3")
    s = h("b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa")
    signature = _der_signature(r, s)
    sm = SmSuite()
    assert sm.verify(public, b"message digest", signature)
    assert not sm.verify(public, b"message digesT", signature)


def _der_signature(r: bytes, s: bytes) -> bytes:
    def integer(value: bytes) -> bytes:
        value = value.lstrip(b"\0")
        if value[0] & 0x80:
            value = b"\0" + value
        return b"\x02" + bytes([len(value)]) + value

    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


# --- the contract, for both suites -----------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "sm"])
def test_sign_verify_seal_open_round_trip(name: str) -> None:
    crypto = suite(name)
    pair = crypto.generate_signing_key()
    signature = crypto.sign(pair, b"batch root")
    assert crypto.verify(pair.public, b"batch root", signature)
    assert not crypto.verify(pair.public, b"batch rooT", signature)
    assert not crypto.verify(crypto.generate_signing_key().public, b"batch root", signature)
    assert not crypto.verify(b"not a key", b"batch root", signature)
    assert not crypto.verify(pair.public, b"batch root", b"not a signature")

    key = bytes(range(crypto.aead_key_bytes))
    sealed = crypto.seal(key, b"632322198807150035", b"person/id_number")
    assert crypto.open(key, sealed, b"person/id_number") == b"632322198807150035"
    assert crypto.seal(key, b"same", b"") != crypto.seal(key, b"same", b"")  # fresh nonces
    with pytest.raises(DecryptionFailed):
        crypto.open(key, sealed, b"person/phone")  # bound to its field
    with pytest.raises(DecryptionFailed):
        crypto.open(bytes(crypto.aead_key_bytes), sealed, b"person/id_number")
    tampered = bytearray(sealed)
    tampered[NONCE_BYTES] ^= 1
    with pytest.raises(DecryptionFailed):
        crypto.open(key, bytes(tampered), b"person/id_number")
    with pytest.raises(DecryptionFailed):
        crypto.open(key, sealed[:10], b"person/id_number")

    assert len(crypto.hash(b"x")) == 32
    assert crypto.hmac(b"k", b"x") != crypto.hmac(b"K", b"x")


def test_unknown_suite_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: default, sm"):
        suite("rsa")


def test_hmac_sha256_equals_the_standard_library_for_every_key_length() -> None:
    """The default suite's HMAC keys its hashes once per key (federation/crypto/suites.py):
    the result is RFC 2104's for short, block-sized and long keys, and the same on reuse."""
    import hmac

    crypto = suite("default")
    for key in (b"", b"k", b"\x5e" * 32, b"b" * 64, b"L" * 65, bytes(range(200))):
        for data in (b"", b"tiersync-id\x00632322195201205827", b"x" * 5000):
            expected = hmac.digest(key, data, "sha256")
            assert crypto.hmac(key, data) == expected
            assert crypto.hmac(key, data) == expected  # the cached pads are not consumed
