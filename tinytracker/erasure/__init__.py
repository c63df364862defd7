"""The erasure engine: the only code that deletes or anonymises rows of ``raw.*``.

Retention runs, erasure requests and restore replays all hand it subjects (from a plan or
chosen one by one); it turns them into steps by the action mapping, executes them in one
transaction with their audit rows and suppression tokens, writes the erasure ledger and
rewrites the warehouse file so no erased value survives in its bytes.
"""
