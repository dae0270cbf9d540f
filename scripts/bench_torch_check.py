#!/usr/bin/env python3
"""Checks that bench_torch.py's `packed` strategy trains the same models as `separate`: on small random
data, for Adam and SGD, squared error and cross-entropy, full batch and minibatches, every seed's final
test error must be equal. Needs PyTorch; run from anywhere: python3 scripts/bench_torch_check.py"""
import importlib.util
import os
import sys
import tempfile

import torch

tmp = tempfile.mkdtemp()
torch.manual_seed(0)
bad = 0
n,d,k,nt=64,5,3,40
x=torch.randn(n,d); y=torch.randint(0,k,(n,)).float(); xt=torch.randn(nt,d); yt=torch.randint(0,k,(nt,)).float()
for name,t in [("x",x),("y",y),("xt",xt),("yt",yt)]:
    open(os.path.join(tmp, name),"wb").write(bytes(t.contiguous().view(torch.uint8).flatten().tolist()))
spec=importlib.util.spec_from_file_location("b",os.path.join(os.path.dirname(os.path.abspath(__file__)),"bench_torch.py")); b=importlib.util.module_from_spec(spec); spec.loader.exec_module(b)
for opt in ["adam","sgd"]:
  for loss in ["mse","ce"]:
    for batch in [0,16]:
      cfg={"conditions":[{"n_train":n,"dim":d,"classes":k,"x_train":f"{tmp}/x","y_train":f"{tmp}/y","x_test":f"{tmp}/xt","y_test":f"{tmp}/yt","epochs":30}],"widths":[7],"depth":2,"seeds":[1,2,3],"epochs":30,"eval_every":30,"batch_size":batch,"lr":0.01,"loss":loss,"optimizer":opt,"momentum":0.9,"processes":1,"device":"cpu"}
      orig=torch.Tensor.tolist; got=[]
      def tl(self):
          r=orig(self); got.append(r); return r
      torch.Tensor.tolist=tl
      b.train_packed((cfg,0,7,False)); packed=got[-1]
      torch.Tensor.tolist=orig
      orig_item=torch.Tensor.item; items=[]
      def it(self):
          r=orig_item(self); items.append(r); return r
      torch.Tensor.item=it
      sep=[]
      for s in cfg["seeds"]:
          b.train_one((cfg,0,7,s)); sep.append(items[-1])
      torch.Tensor.item=orig_item
      same = packed == sep
      bad += not same
      print(opt, loss, "full batch" if batch == 0 else f"batch {batch}", "packed", packed, "separate", sep, "same" if same else "DIFFERENT")
sys.exit(1 if bad else 0)
