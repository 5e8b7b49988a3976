#!/usr/bin/python3
"""A client that makes and posts transactions exactly as the reference's Interaction.py does.

Run it with Debian's interpreter, which has the three libraries it needs
(apt-get install python3-requests python3-jsonpickle python3-pycryptodome):

    /usr/bin/python3 scripts/reference-client.py [--node URL] [--keys DIR] [--fresh] interaction
    /usr/bin/python3 scripts/reference-client.py [--node URL] [--keys DIR] send TYPE SENDER RECEIVER AMOUNT
    /usr/bin/python3 scripts/reference-client.py [--node URL] replay FILE

What goes over the wire is the reference's, byte for byte in shape:
- a Transaction object (class `Transaction` of module `Transaction`, so jsonpickle tags it
  `"py/object": "Transaction.Transaction"`) with senderPublicKey, receiverPublicKey, amount, type,
  id (uuid1 hex), timestamp (time.time()) and signature, in that order;
- the signature is RSASSA-PKCS1-v1_5 (pycryptodome's PKCS1_v1_5) over SHA-256 of
  `json.dumps(payload)`, where the payload is the transaction's dict with signature '' (what
  tabchain's core verifies as `transactionSigningBytes`), hex-encoded;
- POST /transaction with `requests.post(url, json={'transaction': jsonpickle.encode(tx, unpicklable=True)})`.

`interaction` replays the reference's Interaction.py: the exchange sells the staker 100 and bob 100
and 10; the staker stakes 25 and pays bob 1, twice. The staker ends with 73 coins and 25 staked.
Keys are read from --keys (default test/vectors/keys: stakerPrivateKey.pem, exchangePrivateKey.pem,
bobPrivateKey.pem); with --fresh the exchange and bob are new random keys, as in the reference.
`send` posts one transaction between two key files of --keys (named without PrivateKey.pem).
`replay` posts the recorded bodies of a nodeapi-interaction.json unchanged.
Exit status: 0 when the node answered every request with 201, else 1 (2 for a usage error).
"""

import argparse
import copy
import json
import os
import sys
import time
import uuid

# Debian's python3-pycryptodome installs the library as `Cryptodome`, not `Crypto`.
import jsonpickle
import requests
from Cryptodome.Hash import SHA256
from Cryptodome.PublicKey import RSA
from Cryptodome.Signature import PKCS1_v1_5

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_KEYS = os.path.join(HERE, '..', 'test', 'vectors', 'keys')
TIMEOUT_SECONDS = 30


class BlockchainUtils:
    """The reference's hash: SHA-256 of `json.dumps(data)` in UTF-8."""

    @staticmethod
    def hash(data):
        return SHA256.new(json.dumps(data).encode('utf-8'))

    @staticmethod
    def encode(objectToEncode):
        return jsonpickle.encode(objectToEncode, unpicklable=True)


class Transaction:
    """The reference's Transaction: its fields, their order and its payload."""

    def __init__(self, senderPublicKey, receiverPublicKey, amount, type):
        self.senderPublicKey = senderPublicKey
        self.receiverPublicKey = receiverPublicKey
        self.amount = amount
        self.type = type
        self.id = uuid.uuid1().hex
        self.timestamp = time.time()
        self.signature = ''

    def toJson(self):
        return self.__dict__

    def sign(self, signature):
        self.signature = signature

    def payload(self):
        jsonRepresentation = copy.deepcopy(self.toJson())
        jsonRepresentation['signature'] = ''
        return jsonRepresentation


# The reference's class lives in its module Transaction.py: jsonpickle names it by module and
# class, so this one must say the same to be tagged "Transaction.Transaction".
Transaction.__module__ = 'Transaction'


class Wallet:
    """The reference's Wallet: an RSA-2048 key pair that signs the payload's hash."""

    def __init__(self):
        self.keyPair = RSA.generate(2048)

    def fromKey(self, file):
        with open(file, 'r') as keyfile:
            self.keyPair = RSA.importKey(keyfile.read())

    def sign(self, data):
        dataHash = BlockchainUtils.hash(data)
        signatureSchemeObject = PKCS1_v1_5.new(self.keyPair)
        return signatureSchemeObject.sign(dataHash).hex()

    def publicKeyString(self):
        return self.keyPair.publickey().exportKey('PEM').decode('utf-8')

    def createTransaction(self, receiver, amount, type):
        transaction = Transaction(self.publicKeyString(), receiver, amount, type)
        transaction.sign(self.sign(transaction.payload()))
        return transaction


class Client:
    """Posts to one node's API and remembers whether every answer was the reference's 201."""

    def __init__(self, node):
        self.url = node.rstrip('/') + '/transaction'
        self.failures = 0

    def report(self, what, response):
        print('%s -> %d %s' % (what, response.status_code, response.text.strip()), flush=True)
        if response.status_code != 201:
            self.failures += 1

    def postTransaction(self, sender, receiver, amount, type):
        transaction = sender.createTransaction(receiver.publicKeyString(), amount, type)
        package = {'transaction': BlockchainUtils.encode(transaction)}
        response = requests.post(self.url, json=package, timeout=TIMEOUT_SECONDS)
        self.report('%s %d' % (type, amount), response)

    def postRaw(self, what, body, contentType):
        response = requests.post(
            self.url,
            data=body.encode('utf-8'),
            headers={'Content-Type': contentType},
            timeout=TIMEOUT_SECONDS,
        )
        self.report(what, response)


def wallet_from(keys, name):
    wallet = Wallet()
    wallet.fromKey(os.path.join(keys, name + 'PrivateKey.pem'))
    return wallet


def interaction(client, keys, fresh):
    """The reference's Interaction.py, transaction for transaction."""
    staker = wallet_from(keys, 'staker')
    exchange = Wallet() if fresh else wallet_from(keys, 'exchange')
    bob = Wallet() if fresh else wallet_from(keys, 'bob')
    client.postTransaction(exchange, staker, 100, 'EXCHANGE')
    client.postTransaction(exchange, bob, 100, 'EXCHANGE')
    client.postTransaction(exchange, bob, 10, 'EXCHANGE')
    client.postTransaction(staker, staker, 25, 'STAKE')
    client.postTransaction(staker, bob, 1, 'TRANSFER')
    client.postTransaction(staker, bob, 1, 'TRANSFER')


def replay(client, path):
    with open(path, 'r') as file:
        recorded = json.load(file)
    for request in recorded['requests']:
        client.postRaw(request['what'], request['body'], request['contentType'])


def main(argv):
    parser = argparse.ArgumentParser(description='Posts transactions as the reference Interaction.py does.')
    parser.add_argument('--node', default='http://localhost:5000/', help="the node's API (default %(default)s)")
    parser.add_argument('--keys', default=DEFAULT_KEYS, help='folder of <name>PrivateKey.pem files')
    parser.add_argument('--fresh', action='store_true', help='new random keys for the exchange and bob')
    commands = parser.add_subparsers(dest='command', required=True)
    commands.add_parser('interaction', help="replay the reference's Interaction.py")
    send = commands.add_parser('send', help='post one transaction')
    send.add_argument('type', choices=['TRANSFER', 'EXCHANGE', 'STAKE'])
    send.add_argument('sender')
    send.add_argument('receiver')
    send.add_argument('amount', type=int)
    recorded = commands.add_parser('replay', help='post the recorded bodies of a nodeapi-interaction.json')
    recorded.add_argument('file')
    args = parser.parse_args(argv)

    client = Client(args.node)
    try:
        if args.command == 'interaction':
            interaction(client, args.keys, args.fresh)
        elif args.command == 'send':
            sender = wallet_from(args.keys, args.sender)
            receiver = wallet_from(args.keys, args.receiver)
            client.postTransaction(sender, receiver, args.amount, args.type)
        else:
            replay(client, args.file)
    except (OSError, requests.RequestException, ValueError) as error:
        print('reference-client: %s' % error, file=sys.stderr)
        return 1
    return 1 if client.failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
