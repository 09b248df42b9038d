
BlogitsJ(8ฃื?y์ฆ?Wี>PnUภFฌฟv๋าพÿ2pฟ:Gฟ่+๗<ะฃ9ฟ